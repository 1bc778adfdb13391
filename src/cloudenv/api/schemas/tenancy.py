"""The resource tree on the wire, field for field as the product's clients decode it."""

from __future__ import annotations

from pydantic import Field
from pydantic.config import JsonDict

from cloudenv.api.schemas.common import RequestBody, Schema, Timestamp
from cloudenv.services.validation import DESCRIPTION_MAX, NAME_PATTERN

# Types only here: the name and length rules live in services (one rule, one message for
# every client); the pattern is repeated in the schema for OpenAPI readers.
NAME_DOC: JsonDict = {"pattern": NAME_PATTERN}
DESCRIPTION_DOC: JsonDict = {"maxLength": DESCRIPTION_MAX}
Name = Field(
    description="3-64 letters, digits, '_' or '-'.",
    examples=["eu-west"],
    json_schema_extra=NAME_DOC,
)


class Location(Schema):
    latitude: float = Field(examples=[52.52])
    longitude: float = Field(examples=[13.40])


class LocationInput(RequestBody):
    """A map position as clients send it (numbers only: ``false`` is not 0.0)."""

    latitude: float = Field(ge=-90, le=90, examples=[52.52])
    longitude: float = Field(ge=-180, le=180, examples=[13.40])


class Organization(Schema):
    id: str = Field(examples=["org-CIgLySkaAVeQ5kSLOodD3"])
    name: str
    creation: Timestamp
    description: str


class Datacenter(Schema):
    id: str = Field(examples=["dc-VrP6KxEw19aQb2hTnY4Ld"])
    organization_id: str
    name: str
    location: Location | None = Field(description="Map position, or null when not set.")
    creation: Timestamp
    description: str


class Cluster(Schema):
    id: str = Field(examples=["cls-YtR8FqvL29sKjb7WxD3Zn"])
    organization_id: str
    datacenter_id: str
    name: str
    creation: Timestamp
    description: str
    node_count: int
    fault_tolerance: int = Field(description="How many nodes may fail with quorum kept.")
    standalone: bool = Field(description="True for a cluster of one node.")
    leader_id: str | None
    has_leader: bool


HEALTH_STATUS_DOC = (
    "healthy, degraded, unhealthy, dead or unknown (see health_reasons when not healthy)."
)
HEALTH_REASONS_DOC = (
    "Why it is not healthy: one sentence per problem, naming the node, what is wrong and "
    "what to do (empty when healthy)."
)


class ClusterFull(Cluster):
    health_status: str = Field(description=HEALTH_STATUS_DOC, examples=["degraded"])
    health_reasons: list[str] = Field(
        description=HEALTH_REASONS_DOC,
        examples=[["node-b (node-qthm_iLrflJ_DtSS1l4Gx) last seen 2 min ago: check that ..."]],
    )


class Node(Schema):
    id: str = Field(examples=["node-qthm_iLrflJ_DtSS1l4Gx"])
    organization_id: str
    cluster_id: str
    name: str
    description: str
    ip_address: str | None
    wol_mac: str | None
    creation: Timestamp
    alive: bool = Field(description="The node's agent reported within the last 30 s.")
    last_seen: Timestamp | None
    joining: bool


class NodeFull(Node):
    ssh_key: str | None
    client_cert: str | None


class NodeWithHealth(NodeFull):
    """A node's own page: with its health, as its cluster's is judged from it."""

    health_status: str = Field(description="healthy, degraded, dead or unknown (never reported).")
    health_reasons: list[str] = Field(description=HEALTH_REASONS_DOC)


class OrganizationTree(Schema):
    organization: Organization
    datacenters: list[Datacenter]
    clusters: list[Cluster]
    nodes: list[Node]


class OrganizationCreate(RequestBody):
    name: str = Name
    description: str = Field(default="", json_schema_extra=DESCRIPTION_DOC)


class OrganizationUpdate(RequestBody):
    name: str | None = Field(default=None, json_schema_extra=NAME_DOC)
    description: str | None = Field(default=None, json_schema_extra=DESCRIPTION_DOC)


class DatacenterCreate(RequestBody):
    name: str = Name
    description: str = Field(default="", json_schema_extra=DESCRIPTION_DOC)
    organization_id: str = Field(examples=["org-CIgLySkaAVeQ5kSLOodD3"])
    location: LocationInput | None = None


class DatacenterUpdate(RequestBody):
    name: str | None = Field(default=None, json_schema_extra=NAME_DOC)
    description: str | None = Field(default=None, json_schema_extra=DESCRIPTION_DOC)
    location: LocationInput | None = Field(default=None, description="null clears the location.")


class DatacenterDetail(Schema):
    datacenter: Datacenter
    clusters: list[ClusterFull]


class ClusterUpdate(RequestBody):
    name: str | None = Field(default=None, json_schema_extra=NAME_DOC)
    description: str | None = Field(default=None, json_schema_extra=DESCRIPTION_DOC)


class ClusterDetail(Schema):
    cluster: ClusterFull


class ClusterHardware(Schema):
    partial: bool = Field(description="True when a node's facts are missing or stale.")
    vcpus: int
    memory_gb: int
    storage_gb: int
