/**
 * An icon-only action (the seed's pencil, X and resize icons): named for screen readers and
 * tests by `label`, which its tooltip shows too; when refused, it stays focusable but
 * disabled, and the tooltip says why instead.
 */
import { Button, Flex, Tooltip } from "@patternfly/react-core";
import { PencilAltIcon, TimesIcon } from "@patternfly/react-icons";
import { Td } from "@patternfly/react-table";
import type { ReactNode } from "react";

export function IconAction(props: {
  label: string;
  icon: ReactNode;
  refusal?: string;
  onClick: () => void;
  isDanger?: boolean;
}) {
  return (
    <Tooltip content={props.refusal ?? props.label}>
      <Button
        variant="plain"
        aria-label={props.label}
        icon={props.icon}
        isDanger={props.isDanger}
        isAriaDisabled={props.refusal !== undefined}
        onClick={props.onClick}
      />
    </Tooltip>
  );
}

/** A table row's Edit (pencil) and Delete (X) actions on the resource ``name``, each
 * shown only when allowed; Delete carries the reason it is refused, when it is. */
export function EditDeleteCell(props: {
  name: string;
  canEdit: boolean;
  canDelete: boolean;
  deleteRefusal?: string;
  onEdit: () => void;
  onDelete: () => void;
}) {
  return (
    <Td isActionCell>
      <Flex flexWrap={{ default: "nowrap" }} spaceItems={{ default: "spaceItemsNone" }}>
        {props.canEdit && (
          <IconAction label={`Edit ${props.name}`} icon={<PencilAltIcon />} onClick={props.onEdit} />
        )}
        {props.canDelete && (
          <IconAction
            label={`Delete ${props.name}`}
            icon={<TimesIcon />}
            refusal={props.deleteRefusal}
            onClick={props.onDelete}
            isDanger
          />
        )}
      </Flex>
    </Td>
  );
}
