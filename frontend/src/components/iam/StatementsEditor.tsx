/**
 * A policy's statements as a table: per row the action (chosen from the API's vocabulary,
 * a whole area `instance.*`, or `*`), the effect, the resource (`*`, an ID or pattern, or a
 * subtree `dc-…/*`) and its rules as JSON (`[{"field": "env.day_of_week", "operator":
 * "in", "value": ["mon", "fri"]}]`, empty for none). The server's message about a
 * statement's field (`statements[2].resource`) shows in that cell.
 */
import {
  Button,
  FormSelect,
  FormSelectOption,
  HelperText,
  HelperTextItem,
  TextArea,
  TextInput,
} from "@patternfly/react-core";
import { ArrowDownIcon, ArrowUpIcon, MinusCircleIcon, PlusCircleIcon } from "@patternfly/react-icons";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";

import { fieldError } from "../../api/errors";
import type { Statement } from "../../api/queries";

/** A statement being edited: its rules as the JSON text the user types. */
export interface StatementDraft {
  /** Stable across moves, for React's keys. */
  key: number;
  action: string;
  effect: "allow" | "deny";
  resource: string;
  rules: string;
}

let nextKey = 0;

/** A statement as the API gives it (a policy's) or takes it. */
interface StatementLike {
  action: string;
  effect: string;
  resource: string;
  rules?: unknown[] | null;
}

export function draftOf(statement: StatementLike): StatementDraft {
  nextKey += 1;
  return {
    key: nextKey,
    action: statement.action,
    effect: statement.effect === "deny" ? "deny" : "allow",
    resource: statement.resource,
    rules: statement.rules && statement.rules.length > 0 ? JSON.stringify(statement.rules) : "",
  };
}

export function newDraft(): StatementDraft {
  return draftOf({ action: "*", effect: "allow", resource: "*" });
}

/** Why a draft's rules aren't a JSON array, or undefined when they are (or are empty). */
export function rulesProblem(draft: StatementDraft): string | undefined {
  if (draft.rules.trim() === "") return undefined;
  try {
    const parsed: unknown = JSON.parse(draft.rules);
    return Array.isArray(parsed) ? undefined : "Rules are a JSON array of {field, operator, value}.";
  } catch (error) {
    return `Not JSON: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** The statements to send; call only when no draft has a rulesProblem. */
export function statementsOf(drafts: StatementDraft[]): Statement[] {
  return drafts.map((draft) => ({
    action: draft.action,
    effect: draft.effect,
    resource: draft.resource,
    // The server checks each rule and names the one at fault.
    ...(draft.rules.trim() ? { rules: JSON.parse(draft.rules) as Statement["rules"] } : {}),
  }));
}

/** The choices for a statement's action: `*`, each area's `area.*`, then every action. */
export function actionChoices(actions: string[]): string[] {
  const areas = [...new Set(actions.map((action) => action.split(".")[0]))].map((area) => `${area}.*`);
  return ["*", ...areas, ...actions];
}

export function StatementsEditor({
  drafts,
  onChange,
  actionNames,
  error,
  readOnly = false,
}: {
  drafts: StatementDraft[];
  onChange: (drafts: StatementDraft[]) => void;
  actionNames: string[];
  error: unknown;
  readOnly?: boolean;
}) {
  const choices = actionChoices(actionNames);
  const set = (index: number, change: Partial<StatementDraft>) =>
    onChange(drafts.map((draft, i) => (i === index ? { ...draft, ...change } : draft)));
  const move = (index: number, by: number) => {
    const next = [...drafts];
    next.splice(index + by, 0, ...next.splice(index, 1));
    onChange(next);
  };
  const remove = (index: number) => onChange(drafts.filter((_d, i) => i !== index));
  const cellError = (index: number, field: string) => fieldError(error, `statements[${index}].${field}`);

  return (
    <>
      <Table aria-label="Statements" variant="compact">
        <Thead>
          <Tr>
            <Th modifier="fitContent">#</Th>
            <Th width={25}>Action</Th>
            <Th width={15}>Effect</Th>
            <Th width={25}>Resource</Th>
            <Th width={25}>Rules (JSON)</Th>
            {!readOnly && <Th screenReaderText="Order and remove" />}
          </Tr>
        </Thead>
        <Tbody>
          {drafts.map((draft, index) => {
            const n = index + 1;
            const problem = rulesProblem(draft) ?? cellError(index, "rules");
            // An action the vocabulary doesn't list (one of a newer node) stays choosable.
            const options = choices.includes(draft.action) ? choices : [draft.action, ...choices];
            return (
              <Tr key={draft.key}>
                <Td dataLabel="#">{n}</Td>
                <Td dataLabel="Action">
                  <FormSelect
                    value={draft.action}
                    onChange={(_e, action) => set(index, { action })}
                    aria-label={`Action of statement ${n}`}
                    isDisabled={readOnly}
                    validated={cellError(index, "action") ? "error" : "default"}
                  >
                    {options.map((action) => (
                      <FormSelectOption key={action} value={action} label={action} />
                    ))}
                  </FormSelect>
                  <CellError text={cellError(index, "action")} />
                </Td>
                <Td dataLabel="Effect">
                  <FormSelect
                    value={draft.effect}
                    onChange={(_e, effect) => set(index, { effect: effect === "deny" ? "deny" : "allow" })}
                    aria-label={`Effect of statement ${n}`}
                    isDisabled={readOnly}
                  >
                    <FormSelectOption value="allow" label="allow" />
                    <FormSelectOption value="deny" label="deny" />
                  </FormSelect>
                </Td>
                <Td dataLabel="Resource">
                  <TextInput
                    value={draft.resource}
                    onChange={(_e, resource) => set(index, { resource })}
                    aria-label={`Resource of statement ${n}`}
                    readOnlyVariant={readOnly ? "default" : undefined}
                    validated={cellError(index, "resource") ? "error" : "default"}
                  />
                  <CellError text={cellError(index, "resource")} />
                </Td>
                <Td dataLabel="Rules (JSON)">
                  <TextArea
                    value={draft.rules}
                    onChange={(_e, rules) => set(index, { rules })}
                    aria-label={`Rules of statement ${n}`}
                    readOnlyVariant={readOnly ? "default" : undefined}
                    validated={problem ? "error" : "default"}
                    autoResize
                    rows={1}
                    placeholder={readOnly ? "" : "None"}
                  />
                  <CellError text={problem} />
                </Td>
                {!readOnly && (
                  <Td isActionCell modifier="nowrap">
                    <Button
                      variant="plain"
                      icon={<ArrowUpIcon />}
                      aria-label={`Move statement ${n} up`}
                      isDisabled={index === 0}
                      onClick={() => move(index, -1)}
                    />
                    <Button
                      variant="plain"
                      icon={<ArrowDownIcon />}
                      aria-label={`Move statement ${n} down`}
                      isDisabled={index === drafts.length - 1}
                      onClick={() => move(index, 1)}
                    />
                    <Button
                      variant="plain"
                      icon={<MinusCircleIcon />}
                      aria-label={`Remove statement ${n}`}
                      onClick={() => remove(index)}
                    />
                  </Td>
                )}
              </Tr>
            );
          })}
        </Tbody>
      </Table>
      {!readOnly && (
        <Button
          variant="link"
          icon={<PlusCircleIcon />}
          onClick={() => onChange([...drafts, newDraft()])}
        >
          Add statement
        </Button>
      )}
    </>
  );
}

function CellError({ text }: { text: string | undefined }) {
  if (!text) return null;
  return (
    <HelperText>
      <HelperTextItem variant="error">{text}</HelperTextItem>
    </HelperText>
  );
}
