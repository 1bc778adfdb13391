/**
 * Import (seed: "import multiple users in bulk using a CSV file"): a CSV or JSON file is
 * first sent as a dry run, whose per-row results are shown; Confirm import then sends it
 * for real. The server imports all rows or none, so a file with one bad row changes
 * nothing: its rows' messages say what to fix. Passwords the server generated for rows
 * that asked for one are shown once, after the import.
 */
import {
  Alert,
  Button,
  ClipboardCopy,
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
import { ApiError, messageOf } from "../../api/errors";
import { type ImportResult, keys } from "../../api/queries";

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

  const send = async (chosen: Chosen, dryRun: boolean): Promise<ImportResult[]> =>
    unwrap(
      await api.POST("/api/v1/users/import", {
        params: { query: { organization_id: organizationId, dry_run: dryRun } },
        // The file's own text, CSV or JSON: the server parses it by its Content-Type.
        body: chosen.text as never,
        bodySerializer: (body: unknown) => body as string,
        headers: { "Content-Type": chosen.type },
      }),
    );
  const preview = useMutation({ mutationFn: (chosen: Chosen) => send(chosen, true) });
  const commit = useMutation({
    mutationFn: (chosen: Chosen) => send(chosen, false),
    onSuccess: (results) => {
      void client.invalidateQueries({ queryKey: keys.users });
      if (!results.some((row) => row.password)) onClose();
    },
  });
  // A refused import says why for every row (the 400's details), like the dry run.
  const refusedRows =
    commit.error instanceof ApiError && commit.error.details ? (commit.error.details as ImportResult[]) : null;
  const rows = refusedRows ?? preview.data ?? [];
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

  if (commit.data) return <GeneratedPasswords results={commit.data} onClose={onClose} />;

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
                  description, enabled, external, expiry, linux_user, policy_ids, password,
                  random_password, temporary.
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
        {(preview.isSuccess || refusedRows) && (
          <>
            <Content component="p" className="pf-v6-u-mt-md">
              {refusedRows
                ? `Nothing was imported: ${bad} of ${rows.length} rows were refused. Fix them and choose the file again.`
                : bad === 0
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
                      {row.error ? (row.error.field ? `${row.error.field}: ${row.error.message}` : row.error.message) : "—"}
                    </Td>
                  </Tr>
                ))}
              </Tbody>
            </Table>
          </>
        )}
        {commit.isError && !refusedRows && (
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

/** After an import: the passwords the server generated, each shown this once. */
function GeneratedPasswords({ results, onClose }: { results: ImportResult[]; onClose: () => void }) {
  const titleId = useId();
  return (
    <Modal isOpen variant="medium" onClose={onClose} aria-labelledby={titleId}>
      <ModalHeader
        title={results.length === 1 ? "Imported 1 user" : `Imported ${results.length} users`}
        labelId={titleId}
      />
      <ModalBody>
        <Alert variant="warning" isInline title="Copy the generated passwords now">
          They are shown only this once: the server keeps only a hash of each.
        </Alert>
        <Table aria-label="Generated passwords" variant="compact">
          <Thead>
            <Tr>
              <Th>Username</Th>
              <Th>Password</Th>
            </Tr>
          </Thead>
          <Tbody>
            {results
              .filter((row) => row.password)
              .map((row) => (
                <Tr key={row.row}>
                  <Td dataLabel="Username">{row.username}</Td>
                  <Td dataLabel="Password">
                    <ClipboardCopy isReadOnly isCode hoverTip="Copy" clickTip="Copied" textAriaLabel={`Password of ${row.username ?? ""}`}>
                      {row.password ?? ""}
                    </ClipboardCopy>
                  </Td>
                </Tr>
              ))}
          </Tbody>
        </Table>
      </ModalBody>
      <ModalFooter>
        <Button variant="primary" onClick={onClose}>
          Close
        </Button>
      </ModalFooter>
    </Modal>
  );
}
