"""Licensing: nodes' license keys, checked offline against the issuers the deployment
trusts, and the statuses shown for nodes and clusters.

cloudenv is open: nothing stops working without a key or with an expired one. A key's
status is shown (a node's page, the cluster's licensing card) and every change audited.

- ``keys``: the key format, signing and checking (no database);
- ``issuers``: which issuers' public keys the deployment trusts;
- ``nodes``: a node's key (read, set) and a cluster's licensing status.
"""
