/** A summary card's term/value list: the one way pages show a resource's fields. */
import {
  DescriptionList,
  DescriptionListDescription,
  DescriptionListGroup,
  DescriptionListTerm,
} from "@patternfly/react-core";
import type { ReactNode } from "react";

export type DetailItem = [term: string, value: ReactNode];

export function Details({ items }: { items: DetailItem[] }) {
  return (
    <DescriptionList isHorizontal isCompact>
      {items.map(([term, value]) => (
        <DescriptionListGroup key={term}>
          <DescriptionListTerm>{term}</DescriptionListTerm>
          <DescriptionListDescription>{value ?? "—"}</DescriptionListDescription>
        </DescriptionListGroup>
      ))}
    </DescriptionList>
  );
}
