/**
 * Every page's URL. A resource page is `/<area>/<id>` with an optional `/<tab>`, so the
 * tree, links and reloads all land on the same page. Areas added later add their routes here.
 */
import { Route } from "react-router";

import { AccountPage } from "../account/AccountPage";
import { ClusterPage } from "../clusters/ClusterPage";
import { DatacenterPage } from "../datacenters/DatacenterPage";
import { InstancePage } from "../instances/InstancePage";
import { NodePage } from "../nodes/NodePage";
import { OrganizationPage } from "../organizations/OrganizationPage";
import { HomePage } from "./HomePage";

export const paths = {
  organization: (id: string) => `/organizations/${id}`,
  datacenter: (id: string) => `/datacenters/${id}`,
  cluster: (id: string) => `/clusters/${id}`,
  node: (id: string) => `/nodes/${id}`,
  instance: (id: string, tab?: string) => `/instances/${id}${tab ? `/${tab}` : ""}`,
  /** The signed-in user's own settings (password, MFA, tokens). */
  account: "/account",
};

export const pageRoutes = [
  <Route key="home" index element={<HomePage />} />,
  <Route key="org" path="/organizations/:id/:tab?" element={<OrganizationPage />} />,
  <Route key="dc" path="/datacenters/:id/:tab?" element={<DatacenterPage />} />,
  <Route key="cluster" path="/clusters/:id/:tab?" element={<ClusterPage />} />,
  <Route key="node" path="/nodes/:id/:tab?" element={<NodePage />} />,
  <Route key="instance" path="/instances/:id/:tab?" element={<InstancePage />} />,
  <Route key="account" path="/account" element={<AccountPage />} />,
];
