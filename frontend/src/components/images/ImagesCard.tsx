/**
 * A node's images (ISOs and disk images instances boot from): the list with each one's
 * state, Upload image, and Delete. Placed on the node's page; it follows `image.*` events.
 */
import {
  Button,
  Card,
  CardBody,
  CardHeader,
  CardTitle,
  EmptyState,
  EmptyStateBody,
  Label,
} from "@patternfly/react-core";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";

import { type Image, useNodeImages, useNodePools } from "../../api/queries";
import { useDialogs } from "../common/DialogHost";
import { useAllowed } from "../common/permissions";
import { QueryState } from "../common/ResourcePage";
import { DeleteImageDialog } from "./DeleteImageDialog";
import { UploadImageDialog } from "./UploadImageDialog";

function StatusLabel({ status }: { status: string }) {
  if (status === "available") return <Label color="green">Available</Label>;
  if (status === "uploading") return <Label color="blue">Uploading</Label>;
  if (status === "deleting") return <Label color="orange">Deleting</Label>;
  return <Label>{status}</Label>;
}

export function ImagesCard({ nodeId }: { nodeId: string }) {
  const dialogs = useDialogs();
  const images = useNodeImages(nodeId);
  const allowed = useAllowed();
  const pools = useNodePools(nodeId);
  const poolName = (id: string) => pools.data?.find((p) => p.id === id)?.name ?? id;
  const upload = () => dialogs.open((close) => <UploadImageDialog nodeId={nodeId} onClose={close} />);
  const remove = (image: Image) =>
    dialogs.open((close) => <DeleteImageDialog nodeId={nodeId} image={image} onClose={close} />);

  return (
    <Card>
      <CardHeader
        actions={{
          actions: allowed("image.create") && (
            <Button variant="secondary" onClick={upload}>
              Upload image
            </Button>
          ),
          hasNoOffset: false,
        }}
      >
        <CardTitle>Images</CardTitle>
      </CardHeader>
      <CardBody>
        {!images.data ? (
          <QueryState error={images.error} isPending={images.isPending} />
        ) : images.data.length === 0 ? (
          <EmptyState titleText="No images" headingLevel="h4">
            <EmptyStateBody>Upload an ISO or disk image to deploy instances from it.</EmptyStateBody>
          </EmptyState>
        ) : (
          <Table aria-label="Images" variant="compact">
            <Thead>
              <Tr>
                <Th>Name</Th>
                <Th>Format</Th>
                <Th>Size</Th>
                <Th>Status</Th>
                <Th>Storage pool</Th>
                <Th screenReaderText="Actions" />
              </Tr>
            </Thead>
            <Tbody>
              {images.data.map((image) => (
                <Tr key={image.id}>
                  <Td dataLabel="Name">{image.name}</Td>
                  <Td dataLabel="Format">{image.format}</Td>
                  <Td dataLabel="Size">{`${image.size} MB`}</Td>
                  <Td dataLabel="Status">
                    <StatusLabel status={image.status} />
                  </Td>
                  <Td dataLabel="Storage pool">{poolName(image.storage_pool_id)}</Td>
                  <Td isActionCell>
                    {allowed("image.delete") && (
                      <Button
                        variant="link"
                        isDanger
                        isInline
                        aria-label={`Delete ${image.name}`}
                        isDisabled={image.status !== "available"}
                        onClick={() => remove(image)}
                      >
                        Delete
                      </Button>
                    )}
                  </Td>
                </Tr>
              ))}
            </Tbody>
          </Table>
        )}
      </CardBody>
    </Card>
  );
}
