"""The node agent: runs inside ``cloudenv serve`` and makes desired state real on this node
(runs its tasks, reports its facts and heartbeat). It calls services and host probes; the
API never waits for it."""
