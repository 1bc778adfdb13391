/**
 * Pages of a list the API answers page by page (the audit trail, lockouts): Previous, the
 * page number, Next, and how many rows a page holds. With the total the server counted,
 * the last page is known; without it, a page with fewer rows than asked for is the last.
 */
import { Button, Flex, FlexItem, FormSelect, FormSelectOption } from "@patternfly/react-core";
import { useId } from "react";

export function Pager({
  page,
  entries,
  shown,
  total = null,
  sizes,
  label,
  onPage,
  onEntries,
}: {
  page: number;
  entries: number;
  /** How many rows the current page has. */
  shown: number;
  /** How many rows there are in all, when the server says. */
  total?: number | null;
  sizes: number[];
  label: string;
  onPage: (page: number) => void;
  onEntries: (entries: number) => void;
}) {
  const sizeId = useId();
  const pages = total === null ? null : Math.max(1, Math.ceil(total / entries));
  const last = pages === null ? shown < entries : page >= pages;
  return (
    <nav aria-label={label} className="pf-v6-u-mt-md">
      <Flex alignItems={{ default: "alignItemsCenter" }} spaceItems={{ default: "spaceItemsMd" }}>
        <FlexItem>
          <Button variant="secondary" size="sm" isDisabled={page <= 1} onClick={() => onPage(page - 1)}>
            Previous
          </Button>
        </FlexItem>
        <FlexItem>{pages === null ? `Page ${page}` : `Page ${page} of ${pages} (${total} in all)`}</FlexItem>
        <FlexItem>
          <Button variant="secondary" size="sm" isDisabled={last} onClick={() => onPage(page + 1)}>
            Next
          </Button>
        </FlexItem>
        <FlexItem>
          <label htmlFor={sizeId} className="pf-v6-u-mr-sm">
            Per page
          </label>
        </FlexItem>
        <FlexItem>
          <FormSelect
            id={sizeId}
            value={String(entries)}
            onChange={(_e, value) => onEntries(Number(value))}
          >
            {sizes.map((size) => (
              <FormSelectOption key={size} value={String(size)} label={String(size)} />
            ))}
          </FormSelect>
        </FlexItem>
      </Flex>
    </nav>
  );
}
