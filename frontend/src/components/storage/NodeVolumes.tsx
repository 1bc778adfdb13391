/**
 * A node's volumes (seed: "List Volumes", "Destroy Volume"): the Storage Pool dropdown
 * filters the list (the server filters: `GET /volumes?node_id=&storage_pool_id=`); Create
 * Volume makes one in a pool of the node; per row the resize icon and the X to destroy,
 * each disabled with its reason when the server would refuse (an attached volume can't be
 * destroyed, a LUN of an iSCSI pool can't be resized, a volume a task holds can't be either).
 */
import {
  Button,
  EmptyState,
  EmptyStateBody,
  Flex,
  FormSelect,
  FormSelectOption,
  Toolbar,
  ToolbarContent,
  ToolbarItem,
} from "@patternfly/react-core";
import { ExpandAltIcon, TimesIcon } from "@patternfly/react-icons";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";
import { useId, useState } from "react";
import { Link } from "react-router";

import {
  type NodePool,
  type Volume,
  useNodePools,
  useNodePoolVolumes,
  useNodeVolumes,
} from "../../api/queries";
import { paths } from "../app/routes";
import { useDialogs } from "../common/DialogHost";
import { formatTime } from "../common/format";
import { useAllowed } from "../common/permissions";
import { QueryState } from "../common/ResourcePage";
import { CreateVolumeDialog } from "./CreateVolumeDialog";
import { DestroyVolumeDialog } from "./DestroyVolumeDialog";
import { IconAction } from "../common/IconAction";
import { isVolumeBusy, makesVolumes, VOLUME_STATUS, volumeStatusTitle } from "./poolTypes";
import { ResizeVolumeDialog } from "./ResizeVolumeDialog";
import { VolumeStatus } from "./VolumeStatus";

/** The dropdown's value for "every pool". */
const ALL = "";

export function NodeVolumes({ nodeId }: { nodeId: string }) {
  const dialogs = useDialogs();
  const allowed = useAllowed();
  const filterId = useId();
  const [poolId, setPoolId] = useState(ALL);
  const pools = useNodePools(nodeId);
  const everything = useNodeVolumes(nodeId, poolId === ALL);
  const inPool = useNodePoolVolumes(nodeId, poolId, poolId !== ALL);
  const volumes = poolId === ALL ? everything : inPool;
  const poolsById = new Map((pools.data ?? []).map((p) => [p.id, p]));

  const create = () =>
    dialogs.open((close) => (
      <CreateVolumeDialog nodeId={nodeId} poolId={poolId === ALL ? undefined : poolId} onClose={close} />
    ));
  const resize = (volume: Volume) =>
    dialogs.open((close) => <ResizeVolumeDialog volume={volume} onClose={close} />);
  const destroy = (volume: Volume) =>
    dialogs.open((close) => <DestroyVolumeDialog volume={volume} onClose={close} />);

  return (
    <>
      <Toolbar>
        <ToolbarContent alignItems="center">
          <ToolbarItem>
            <label htmlFor={filterId} className="pf-v6-u-mr-sm pf-v6-u-font-weight-bold">
              Storage Pool
            </label>
          </ToolbarItem>
          <ToolbarItem>
            <FormSelect
              id={filterId}
              value={poolId}
              onChange={(_e, value) => setPoolId(value)}
              aria-label="Storage Pool"
            >
              <FormSelectOption value={ALL} label="All storage pools" />
              {(pools.data ?? []).map((pool) => (
                <FormSelectOption key={pool.id} value={pool.id} label={pool.name} />
              ))}
            </FormSelect>
          </ToolbarItem>
          {allowed("volume.create") && (
            <ToolbarItem align={{ default: "alignEnd" }}>
              <Button variant="primary" onClick={create}>
                Create Volume
              </Button>
            </ToolbarItem>
          )}
        </ToolbarContent>
      </Toolbar>
      {!volumes.data ? (
        <QueryState error={volumes.error} isPending={volumes.isPending} />
      ) : volumes.data.length === 0 ? (
        <EmptyState titleText="No volumes" headingLevel="h4">
          <EmptyStateBody>
            {poolId === ALL
              ? "This node holds no volume."
              : `This node holds no volume in ${poolsById.get(poolId)?.name ?? poolId}.`}
          </EmptyStateBody>
        </EmptyState>
      ) : (
        <Table aria-label="Volumes" variant="compact">
          <Thead>
            <Tr>
              <Th>Name</Th>
              <Th>Storage Pool</Th>
              <Th>Size</Th>
              <Th>Driver</Th>
              <Th>Status</Th>
              <Th modifier="nowrap">Attached to</Th>
              <Th modifier="nowrap">Created</Th>
              <Th screenReaderText="Actions" />
            </Tr>
          </Thead>
          <Tbody>
            {volumes.data.map((volume) => (
              <VolumeRow
                key={volume.id}
                volume={volume}
                pool={poolsById.get(volume.storage_pool_id)}
                onResize={allowed("volume.resize") ? () => resize(volume) : undefined}
                onDestroy={allowed("volume.delete") ? () => destroy(volume) : undefined}
              />
            ))}
          </Tbody>
        </Table>
      )}
    </>
  );
}

/** Why the volume can't be resized now, or undefined when it can. */
export function resizeRefusal(volume: Volume, poolType: number | undefined): string | undefined {
  if (poolType !== undefined && !makesVolumes(poolType)) {
    return "It is a LUN of an iSCSI target; resize it on the target.";
  }
  if (volume.status !== VOLUME_STATUS.available) {
    return `It is ${volumeStatusTitle(volume.status).toLowerCase()}; wait until it is available.`;
  }
  return undefined;
}

function destroyRefusal(volume: Volume): string | undefined {
  if (volume.attached) {
    return "It is attached to an instance; detach it first (the instance's Resources tab).";
  }
  if (isVolumeBusy(volume.status)) {
    return `It is ${volumeStatusTitle(volume.status).toLowerCase()}; wait for that to finish.`;
  }
  return undefined;
}

function VolumeRow(props: {
  volume: Volume;
  pool: NodePool | undefined;
  onResize: (() => void) | undefined;
  onDestroy: (() => void) | undefined;
}) {
  const { volume, pool } = props;
  return (
    <Tr>
      <Td dataLabel="Name">{volume.name}</Td>
      <Td dataLabel="Storage Pool">{pool?.name ?? volume.storage_pool_id}</Td>
      <Td dataLabel="Size">{`${volume.size} GB`}</Td>
      <Td dataLabel="Driver">{volume.metadata.driver}</Td>
      <Td dataLabel="Status">
        <VolumeStatus status={volume.status} />
      </Td>
      <Td dataLabel="Attached to">
        {volume.attached_to ? (
          <Link to={paths.instance(volume.attached_to, "resources")}>{volume.attached_to}</Link>
        ) : (
          "—"
        )}
      </Td>
      <Td dataLabel="Created">{formatTime(volume.creation)}</Td>
      <Td isActionCell>
        <Flex flexWrap={{ default: "nowrap" }} spaceItems={{ default: "spaceItemsNone" }}>
          {props.onResize && (
            <IconAction
              label={`Resize ${volume.name}`}
              icon={<ExpandAltIcon />}
              refusal={resizeRefusal(volume, pool?.type)}
              onClick={props.onResize}
            />
          )}
          {props.onDestroy && (
            <IconAction
              label={`Destroy ${volume.name}`}
              icon={<TimesIcon />}
              refusal={destroyRefusal(volume)}
              onClick={props.onDestroy}
              isDanger
            />
          )}
        </Flex>
      </Td>
    </Tr>
  );
}
