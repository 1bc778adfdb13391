/** The resource tree (a first cut: organizations down to nodes, as links). */
import { List, ListItem } from "@patternfly/react-core";
import { Link } from "react-router";

import { useTree } from "../../api/queries";
import { paths } from "../app/routes";

export function ResourceTree() {
  const tree = useTree();
  return (
    <nav aria-label="Resource tree">
      <List isPlain>
        {(tree.data ?? []).map((org) => (
          <ListItem key={org.organization.id}>
            <Link to={paths.organization(org.organization.id)}>{org.organization.name}</Link>
            <List isPlain>
              {org.datacenters.map((dc) => (
                <ListItem key={dc.id}>
                  <Link to={paths.datacenter(dc.id)}>{dc.name}</Link>
                </ListItem>
              ))}
              {org.clusters.map((c) => (
                <ListItem key={c.id}>
                  <Link to={paths.cluster(c.id)}>{c.name}</Link>
                </ListItem>
              ))}
              {org.nodes.map((n) => (
                <ListItem key={n.id}>
                  <Link to={paths.node(n.id)}>{n.name}</Link>
                </ListItem>
              ))}
            </List>
          </ListItem>
        ))}
      </List>
    </nav>
  );
}
