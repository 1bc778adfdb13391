/**
 * The shape of every resource's page: a header (kind, name, state, actions) over tabs whose
 * selection lives in the URL (`/<area>/<id>/<tab>`), so a tab is a deep link and a reload
 * keeps it. Areas give their tabs; an area with nothing to show for a tab leaves it out.
 */
import {
  Alert,
  Bullseye,
  Content,
  Flex,
  FlexItem,
  PageSection,
  Spinner,
  Tab,
  TabTitleText,
  Tabs,
} from "@patternfly/react-core";
import type { ReactNode } from "react";
import { useNavigate, useParams } from "react-router";

import { messageOf } from "../../api/errors";

export interface PageTab {
  /** The URL segment, e.g. `console`. */
  key: string;
  /** The visible and accessible name, in the seed's word, e.g. `Console`. */
  title: string;
  content: ReactNode;
}

interface Props {
  /** What the resource is, e.g. "Instance". */
  kind: string;
  title: string;
  status?: ReactNode;
  actions?: ReactNode;
  /** The path of the page without the tab, e.g. `/instances/inst-…`. */
  basePath: string;
  tabs: PageTab[];
}

export function ResourcePage({ kind, title, status, actions, basePath, tabs }: Props) {
  const { tab } = useParams();
  const navigate = useNavigate();
  const active = tabs.find((t) => t.key === tab) ?? tabs[0];
  return (
    <>
      <PageSection>
        <Flex alignItems={{ default: "alignItemsCenter" }}>
          <FlexItem>
            <Content component="small">{kind}</Content>
            <Content component="h1">{title}</Content>
          </FlexItem>
          {status && <FlexItem>{status}</FlexItem>}
          {actions && <FlexItem align={{ default: "alignRight" }}>{actions}</FlexItem>}
        </Flex>
      </PageSection>
      <PageSection type="tabs">
        <Tabs
          activeKey={active?.key}
          onSelect={(_e, key) => navigate(`${basePath}/${String(key)}`)}
          aria-label={`${kind} ${title}`}
          mountOnEnter
          unmountOnExit
        >
          {tabs.map((t) => (
            <Tab key={t.key} eventKey={t.key} title={<TabTitleText>{t.title}</TabTitleText>}>
              <PageSection>{t.content}</PageSection>
            </Tab>
          ))}
        </Tabs>
      </PageSection>
    </>
  );
}

/** What a page shows while its resource loads or when it can't be read. */
export function QueryState({ error, isPending }: { error: unknown; isPending: boolean }) {
  if (isPending) {
    return (
      <Bullseye>
        <Spinner aria-label="Loading" />
      </Bullseye>
    );
  }
  return (
    <PageSection>
      <Alert variant="danger" isInline title="Can't show this resource">
        {messageOf(error)}
      </Alert>
    </PageSection>
  );
}
