/**
 * Set License Key (seed: right-click the node → Set License Key): the node's current key
 * and its validity, a box to paste the new key into, and Confirm. The server verifies the
 * key (its signature, its node, its expiry) and refuses it with a 400 whose message says
 * why; that message stands under the box, and the dialog stays open with the key as typed.
 * Accepted, the dialog closes and the node's and its cluster's licence views are refreshed.
 */
import {
  Alert,
  ClipboardCopy,
  ClipboardCopyVariant,
  Content,
  DescriptionList,
  DescriptionListDescription,
  DescriptionListGroup,
  DescriptionListTerm,
  FormGroup,
  FormHelperText,
  HelperText,
  HelperTextItem,
  Spinner,
  Stack,
  StackItem,
  TextArea,
} from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";

import { api, unwrap } from "../../api/client";
import { ApiError, messageOf } from "../../api/errors";
import { keys, type Node, type NodeLicense, useNodeLicense } from "../../api/queries";
import { EditDialog } from "../common/EditDialog";
import { errorIdOf } from "../common/FieldError";
import { formatExpiry, LicensingStatusLabel } from "./LicenseStatus";

/** The box is the form's only field: a refusal of the request (400) is about the key,
 * whether or not the server names the field, so it is shown there. */
function keyMessage(error: unknown): string | undefined {
  if (!(error instanceof ApiError) || error.code !== 400) return undefined;
  return !error.field || error.field === "key" ? error.message : undefined;
}

export function SetLicenseKeyDialog({ node, onClose }: { node: Node; onClose: () => void }) {
  const client = useQueryClient();
  const current = useNodeLicense(node.id);
  const [key, setKey] = useState("");
  const fieldId = useId();
  const set = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.PUT("/api/v1/nodes/{node_id}/license", {
          params: { path: { node_id: node.id } },
          // Pasted keys often carry a line break or spaces at their ends.
          body: { key: key.trim() },
        }),
      ),
    onSuccess: async (license: NodeLicense) => {
      client.setQueryData(keys.nodeLicense(node.id), license);
      await client.invalidateQueries({ queryKey: keys.licenses });
      onClose();
    },
  });
  const refusal = keyMessage(set.error);
  return (
    <EditDialog
      title="Set License Key"
      variant="medium"
      // A refusal is shown under the box; anything else (no permission, the node is
      // unknown) in the dialog's alert.
      fields={[]}
      isPending={set.isPending}
      error={refusal ? null : set.error}
      errorTitle="The license key was not set"
      onSubmit={() => {
        if (key.trim()) set.mutate();
      }}
      onClose={onClose}
    >
      <CurrentLicense nodeName={node.name} query={current} />
      <FormGroup label="License Key" fieldId={fieldId} isRequired>
        <TextArea
          id={fieldId}
          value={key}
          onChange={(_e, value) => {
            setKey(value);
            set.reset(); // the server's word was about the key as it was
          }}
          rows={4}
          resizeOrientation="vertical"
          autoComplete="off"
          spellCheck={false}
          validated={refusal ? "error" : "default"}
          aria-describedby={refusal ? errorIdOf(fieldId) : undefined}
          className="ce-license-key"
        />
        {refusal ? (
          <FormHelperText>
            <HelperText>
              <HelperTextItem variant="error" id={errorIdOf(fieldId)}>
                {refusal}
              </HelperTextItem>
            </HelperText>
          </FormHelperText>
        ) : (
          <FormHelperText>
            <HelperText>
              <HelperTextItem>Paste the whole key as the issuer gave it.</HelperTextItem>
            </HelperText>
          </FormHelperText>
        )}
      </FormGroup>
    </EditDialog>
  );
}

function CurrentLicense({
  nodeName,
  query,
}: {
  nodeName: string;
  query: ReturnType<typeof useNodeLicense>;
}) {
  if (query.error) {
    return (
      <Alert variant="warning" isInline isPlain title="Can't read the current license key">
        {messageOf(query.error)}
      </Alert>
    );
  }
  if (!query.data) return <Spinner size="md" aria-label="Loading the current license key" />;
  const license = query.data;
  return (
    <DescriptionList isHorizontal isCompact aria-label="Current license">
      <DescriptionListGroup>
        <DescriptionListTerm>Node</DescriptionListTerm>
        <DescriptionListDescription>{nodeName}</DescriptionListDescription>
      </DescriptionListGroup>
      <DescriptionListGroup>
        <DescriptionListTerm>Current license key</DescriptionListTerm>
        <DescriptionListDescription>
          {license.key ? (
            <ClipboardCopy
              isReadOnly
              isCode
              variant={ClipboardCopyVariant.expansion}
              hoverTip="Copy"
              clickTip="Copied"
              textAriaLabel="Current key"
              toggleAriaLabel="Show the whole key"
            >
              {license.key}
            </ClipboardCopy>
          ) : (
            "None"
          )}
        </DescriptionListDescription>
      </DescriptionListGroup>
      <DescriptionListGroup>
        <DescriptionListTerm>Validity</DescriptionListTerm>
        <DescriptionListDescription>
          <Stack>
            <StackItem>
              <LicensingStatusLabel status={license.status} />
            </StackItem>
            {license.reason ? (
              <StackItem>
                <Content component="small">{license.reason}</Content>
              </StackItem>
            ) : null}
          </Stack>
        </DescriptionListDescription>
      </DescriptionListGroup>
      <DescriptionListGroup>
        <DescriptionListTerm>Expiry</DescriptionListTerm>
        <DescriptionListDescription>{formatExpiry(license.expiry)}</DescriptionListDescription>
      </DescriptionListGroup>
    </DescriptionList>
  );
}
