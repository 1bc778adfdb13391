/**
 * The Audit Trail (seed: "Auditing and Compliance"): who did what to which object, how it
 * ended and from where, newest first, with filters (user, action, target, since, until),
 * pages, and the filtered trail as a CSV download. The filters apply when submitted, not
 * per keystroke.
 */
import {
  Alert,
  Button,
  Card,
  CardBody,
  CardHeader,
  CardTitle,
  Flex,
  FlexItem,
  Form,
  FormGroup,
  FormSelect,
  FormSelectOption,
  Label,
  TextInput,
  Tooltip,
} from "@patternfly/react-core";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";
import { useMutation } from "@tanstack/react-query";
import { useId, useState } from "react";

import { api, unwrap } from "../../api/client";
import { messageOf } from "../../api/errors";
import { type AuditEntry, type AuditFilter, useAudit, useUsers } from "../../api/queries";
import { saveBlob } from "../common/download";
import { formatTime } from "../common/format";
import { useAllowed } from "../common/permissions";
import { QueryState } from "../common/ResourcePage";
import { Pager } from "./Pager";

/** The most rows the API gives in one answer; a download asks for that many. */
const MAX_ENTRIES = 5000;
export const PAGE_SIZES = [25, 50, 100, 500];

/** What the user typed in the filter form; applied on submit. */
interface Draft {
  user_id: string;
  action: string;
  target_id: string;
  since: string;
  until: string;
}

const EMPTY: Draft = { user_id: "", action: "", target_id: "", since: "", until: "" };

/** A `datetime-local` value (local time) as RFC 3339; undefined when empty. */
function timeOf(local: string): string | undefined {
  if (!local) return undefined;
  const time = new Date(local);
  return Number.isNaN(time.getTime()) ? undefined : time.toISOString();
}

function filterOf(draft: Draft, page: number, entries: number): AuditFilter {
  const filter: AuditFilter = { page, entries };
  if (draft.user_id) filter.user_id = draft.user_id;
  if (draft.action.trim()) filter.action = draft.action.trim();
  if (draft.target_id.trim()) filter.target_id = draft.target_id.trim();
  const since = timeOf(draft.since);
  const until = timeOf(draft.until);
  if (since) filter.since = since;
  if (until) filter.until = until;
  return filter;
}

export function AuditTrailCard({ organizationId }: { organizationId: string }) {
  const allowed = useAllowed();
  const ids = { user: useId(), action: useId(), target: useId(), since: useId(), until: useId() };
  const users = useUsers(organizationId, allowed("user.list"));
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [applied, setApplied] = useState<Draft>(EMPTY);
  const [page, setPage] = useState(1);
  const [entries, setEntries] = useState(50);
  const filter = filterOf(applied, page, entries);
  const audit = useAudit(organizationId, filter);
  const set = (change: Partial<Draft>) => setDraft({ ...draft, ...change });

  const download = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.GET("/api/v1/organizations/{organization_id}/audit", {
          params: {
            path: { organization_id: organizationId },
            query: { ...filterOf(applied, 1, MAX_ENTRIES) },
          },
          headers: { Accept: "text/csv" },
          parseAs: "blob",
        }),
      ) as unknown as Blob,
    onSuccess: (blob) => saveBlob(`audit-${organizationId}.csv`, blob),
  });

  const rows = audit.data?.entries ?? [];
  return (
    <Card>
      <CardHeader
        actions={{
          actions: (
            <Button variant="secondary" onClick={() => download.mutate()} isLoading={download.isPending}>
              Download CSV
            </Button>
          ),
        }}
      >
        <CardTitle>Audit Trail</CardTitle>
      </CardHeader>
      <CardBody>
        <Form
          aria-label="Audit filters"
          onSubmit={(event) => {
            event.preventDefault();
            setApplied(draft);
            setPage(1);
          }}
        >
          <Flex alignItems={{ default: "alignItemsFlexEnd" }} spaceItems={{ default: "spaceItemsMd" }}>
            <FlexItem>
              <FormGroup label="User" fieldId={ids.user}>
                {users.data ? (
                  <FormSelect id={ids.user} value={draft.user_id} onChange={(_e, user_id) => set({ user_id })}>
                    <FormSelectOption value="" label="Any user" />
                    {users.data.map((user) => (
                      <FormSelectOption key={user.id} value={user.id} label={user.username} />
                    ))}
                  </FormSelect>
                ) : (
                  <TextInput
                    id={ids.user}
                    value={draft.user_id}
                    onChange={(_e, user_id) => set({ user_id })}
                    placeholder="User ID"
                  />
                )}
              </FormGroup>
            </FlexItem>
            <FlexItem>
              <FormGroup label="Action" fieldId={ids.action}>
                <TextInput
                  id={ids.action}
                  value={draft.action}
                  onChange={(_e, action) => set({ action })}
                  placeholder="e.g. user.create"
                />
              </FormGroup>
            </FlexItem>
            <FlexItem>
              <FormGroup label="Target" fieldId={ids.target}>
                <TextInput
                  id={ids.target}
                  value={draft.target_id}
                  onChange={(_e, target_id) => set({ target_id })}
                  placeholder="An object's ID"
                />
              </FormGroup>
            </FlexItem>
            <FlexItem>
              <FormGroup label="Since" fieldId={ids.since}>
                <TextInput
                  id={ids.since}
                  type="datetime-local"
                  value={draft.since}
                  onChange={(_e, since) => set({ since })}
                />
              </FormGroup>
            </FlexItem>
            <FlexItem>
              <FormGroup label="Until" fieldId={ids.until}>
                <TextInput
                  id={ids.until}
                  type="datetime-local"
                  value={draft.until}
                  onChange={(_e, until) => set({ until })}
                />
              </FormGroup>
            </FlexItem>
            <FlexItem>
              <Button type="submit" variant="primary">
                Filter
              </Button>
            </FlexItem>
            <FlexItem>
              <Button
                variant="link"
                onClick={() => {
                  setDraft(EMPTY);
                  setApplied(EMPTY);
                  setPage(1);
                }}
              >
                Clear
              </Button>
            </FlexItem>
          </Flex>
        </Form>
        {download.isError && (
          <Alert variant="danger" isInline title="The CSV was not downloaded" className="pf-v6-u-mt-md">
            {messageOf(download.error)}
          </Alert>
        )}
        {!audit.data ? (
          <QueryState error={audit.error} isPending={audit.isPending} />
        ) : (
          <>
            {audit.isError && (
              <Alert variant="danger" isInline title="Can't show the audit trail" className="pf-v6-u-mt-md">
                {messageOf(audit.error)}
              </Alert>
            )}
            <Table aria-label="Audit Trail" variant="compact" className="pf-v6-u-mt-md">
              <Thead>
                <Tr>
                  <Th modifier="wrap">Time</Th>
                  <Th modifier="wrap">User</Th>
                  <Th modifier="wrap">Action</Th>
                  <Th modifier="wrap">Target</Th>
                  <Th modifier="wrap">Outcome</Th>
                  <Th modifier="wrap">Source address</Th>
                </Tr>
              </Thead>
              <Tbody>
                {rows.length === 0 ? (
                  <Tr>
                    <Td colSpan={6}>No entries match.</Td>
                  </Tr>
                ) : (
                  rows.map((entry) => <AuditRow key={entry.id} entry={entry} />)
                )}
              </Tbody>
            </Table>
          </>
        )}
        <Pager
          page={page}
          entries={entries}
          shown={rows.length}
          total={audit.data?.total ?? null}
          sizes={PAGE_SIZES}
          label="Audit Trail pages"
          onPage={setPage}
          onEntries={(next) => {
            setEntries(next);
            setPage(1);
          }}
        />
      </CardBody>
    </Card>
  );
}

function AuditRow({ entry }: { entry: AuditEntry }) {
  const failed = entry.outcome !== "success";
  const outcome = (
    <Label color={failed ? "red" : "green"} isCompact>
      {failed ? `Failure (${entry.status_code})` : "Success"}
    </Label>
  );
  return (
    <Tr>
      <Td dataLabel="Time" modifier="nowrap">
        {formatTime(entry.time)}
      </Td>
      <Td dataLabel="User" modifier="nowrap">
        {entry.username ?? "—"}
      </Td>
      <Td dataLabel="Action" modifier="nowrap">
        {entry.action}
      </Td>
      <Td dataLabel="Target" modifier="breakWord">
        {entry.target_id ?? "—"}
      </Td>
      <Td dataLabel="Outcome" modifier="nowrap">
        {entry.message ? <Tooltip content={entry.message}>{outcome}</Tooltip> : outcome}
      </Td>
      <Td dataLabel="Source address" modifier="nowrap">
        {entry.source_address ?? "—"}
      </Td>
    </Tr>
  );
}
