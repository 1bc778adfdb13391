/** The controls of a wizard step that lists rows the user adds and removes (volumes,
 * network interfaces): one look and one accessible naming scheme for every such step. */
import type { ReactNode } from "react";
import { Button, Flex, FlexItem, GridItem } from "@patternfly/react-core";
import { MinusCircleIcon, PlusCircleIcon } from "@patternfly/react-icons";

/** The last cell of a row: a minus button named "Remove <what> <n>" (n from 1). */
export function RemoveRowCell({
  what,
  index,
  onRemove,
}: {
  what: string;
  index: number;
  onRemove: (index: number) => void;
}) {
  return (
    <GridItem md={1}>
      <Flex alignItems={{ default: "alignItemsFlexEnd" }} style={{ height: "100%" }}>
        <FlexItem>
          <Button
            variant="plain"
            aria-label={`Remove ${what} ${index + 1}`}
            icon={<MinusCircleIcon />}
            onClick={() => onRemove(index)}
          />
        </FlexItem>
      </Flex>
    </GridItem>
  );
}

/** "Add <what>" under the rows, disabled once ``full``. */
export function AddRowButton({
  onAdd,
  full,
  children,
}: {
  onAdd: () => void;
  full: boolean;
  children: ReactNode;
}) {
  return (
    <Button variant="link" icon={<PlusCircleIcon />} onClick={onAdd} isDisabled={full} isInline>
      {children}
    </Button>
  );
}
