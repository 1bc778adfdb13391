/**
 * Import (seed: "import multiple users in bulk using a CSV file"): a CSV or JSON file is
 * first sent as a dry run, whose per-row results are shown; Confirm import then sends it
 * for real. The server imports all rows or none, so a file with one bad row changes
 * nothing: its rows' messages say what to fix.
 */
import {
  Alert,
  Button,
  Content,
  FileUpload,
  Form,
  FormGroup,
  FormHelperText,
  HelperText,
  HelperTextItem,
  Label,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
} from "@patternfly/react-core";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";

import { api, unwrap } from "../../api/client";
import { messageOf } from "../../api/errors";
import { keys } from "../../api/queries";

/** The file as the API takes it: its text, and its type by the name's extension. */
interface Chosen {
  name: string;
  text: string;
  type: "text/csv" | "application/json";
}

async function read(file: File): Promise<Chosen> {
  const json = file.name.toLowerCase().endsWith(".json") || file.type === "application/json";
  return { name: file.name, text: await file.text(), type: json ? "application/json" : "text/csv" };
}

export function ImportUsersDialog({ organizationId, onClose }: { organizationId: string; onClose: () => void }) {
  const client = useQueryClient();
  const titleId = useId();
  const [file, setFile] = useState<Chosen | null>(null);
  const [readError, setReadError] = useState<string | null>(null);

  const send = async (chosen: Chosen, dryRun: boolean) =>
    unwrap(
      await api.POST("/api/v1/users/import", {
        params: { query: { organization_id: organizationId, dry_run: dryRun } },
        // The file's own text, CSV or JSON: the server parses it by its type.
        body: chosen.text as never,
        bodySerializer: (body: unknown) => body as string,
        headers: { "Content-Type": chosen.type },
      }),
    );
  const preview = useMutation({ mutationFn: (chosen: Chosen) => send(chosen, true) });
  const commit = useMutation({
    mutationFn: (chosen: Chosen) => send(chosen, false),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: keys.users });
      onClose();
    },
  });
  const rows = preview.data?.rows ?? [];
  const bad = rows.filter((row) => !row.ok).length;
  const busy = preview.isPending || commit.isPending;

  const choose = (chosen: File) => {
    setReadError(null);
    commit.reset();
    read(chosen).then(
      (result) => {
        setFile(result);
        preview.mutate(result);
      },
      (error: unknown) => setReadError(messageOf(error)),
    );
  };

  return (
    <Modal isOpen variant="large" onClose={busy ? undefined : onClose} aria-labelledby={titleId}>
      <ModalHeader title="Import users" labelId={titleId} />
      <ModalBody>
        <Form onSubmit={(event) => event.preventDefault()}>
          <FormGroup label="File" isRequired fieldId={`${titleId}-file`}>
            <FileUpload
              id={`${titleId}-file`}
              filename={file?.name ?? ""}
              filenamePlaceholder="Choose a CSV or JSON file"
              browseButtonText="Browse..."
              hideDefaultPreview
              isDisabled={busy}
              accept=".csv,.json,text/csv,application/json"
              onFileInputChange={(_e, chosen) => choose(chosen)}
              onClearClick={() => {
                setFile(null);
                preview.reset();
                commit.reset();
              }}
            />
            <FormHelperText>
              <HelperText>
                <HelperTextItem>
                  One user per row (CSV with a header line) or per object (a JSON array): username,
                  description, enabled, external, expiry, linux_user, password, temporary.
                </HelperTextItem>
              </HelperText>
            </FormHelperText>
          </FormGroup>
        </Form>
        {readError && (
          <Alert variant="danger" isInline title="The file can't be read">
            {readError}
          </Alert>
        )}
        {preview.isError && (
          <Alert variant="danger" isInline title="The file was refused" className="pf-v6-u-mt-md">
            {messageOf(preview.error)}
          </Alert>
        )}
        {preview.isSuccess && (
          <>
            <Content component="p" className="pf-v6-u-mt-md">
              {bad === 0
                ? `Dry run: all ${rows.length} users can be imported. Nothing has changed yet.`
                : `Dry run: ${bad} of ${rows.length} rows have errors, so nothing would be imported. Fix them and choose the file again.`}
            </Content>
            <Table aria-label="Import preview" variant="compact">
              <Thead>
                <Tr>
                  <Th>Row</Th>
                  <Th>Username</Th>
                  <Th>Result</Th>
                  <Th>Message</Th>
                </Tr>
              </Thead>
              <Tbody>
                {rows.map((row) => (
                  <Tr key={row.row}>
                    <Td dataLabel="Row">{row.row}</Td>
                    <Td dataLabel="Username">{row.username ?? "—"}</Td>
                    <Td dataLabel="Result">
                      {row.ok ? <Label color="green">OK</Label> : <Label color="red">Error</Label>}
                    </Td>
                    <Td dataLabel="Message">
                      {row.field ? `${row.field}: ${row.message}` : row.message || "—"}
                    </Td>
                  </Tr>
                ))}
              </Tbody>
            </Table>
          </>
        )}
        {commit.isError && (
          <Alert variant="danger" isInline title="Nothing was imported" className="pf-v6-u-mt-md">
            {messageOf(commit.error)}
          </Alert>
        )}
      </ModalBody>
      <ModalFooter>
        <Button
          variant="primary"
          onClick={() => file && commit.mutate(file)}
          isLoading={commit.isPending}
          isDisabled={busy || !file || !preview.isSuccess || bad > 0 || rows.length === 0}
        >
          Confirm import
        </Button>
        <Button variant="link" onClick={onClose} isDisabled={busy}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}
