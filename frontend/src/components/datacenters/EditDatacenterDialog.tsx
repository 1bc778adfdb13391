/**
 * Edit a datacenter's name, description and location (seed: "Editing a Datacenter"). The
 * location is picked by clicking the world map, which computes latitude and longitude; the
 * two numbers stay editable, and Clear location removes it (the API's `location: null`).
 */
import {
  Button,
  FormGroup,
  FormHelperText,
  Grid,
  GridItem,
  HelperText,
  HelperTextItem,
  Stack,
  TextInput,
} from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";

import { api, unwrap } from "../../api/client";
import { ApiError } from "../../api/errors";
import { type Datacenter, keys, type Location } from "../../api/queries";
import {
  DescriptionField,
  EditDialog,
  FieldHelp,
  NameField,
  validation,
} from "../common/EditDialog";
import { formatLocation } from "../common/format";
import { WorldMap } from "./WorldMap";

type LocationInput = Datacenter["location"];

function text(value: number | undefined): string {
  return value === undefined ? "" : String(value);
}

/** A coordinate's local hint: blank beside a given partner, or outside its range. */
function coordinateWarning(value: string, partner: string, limit: number): string | undefined {
  if (value === "" && partner !== "") return "Give both coordinates, or clear the location.";
  if (value === "") return undefined;
  const number = Number(value);
  if (!Number.isFinite(number)) return "A number, please.";
  if (Math.abs(number) > limit) return `Between −${limit} and ${limit}.`;
  return undefined;
}

export function EditDatacenterDialog({
  datacenter,
  onClose,
}: {
  datacenter: Datacenter;
  onClose: () => void;
}) {
  const client = useQueryClient();
  const latitudeId = useId();
  const longitudeId = useId();
  const [name, setName] = useState(datacenter.name);
  const [description, setDescription] = useState(datacenter.description);
  const [latitude, setLatitude] = useState(text(datacenter.location?.latitude));
  const [longitude, setLongitude] = useState(text(datacenter.location?.longitude));

  // What the form says the location is: null when cleared; a partial or odd entry goes to
  // the server as typed, so its message (next to the field) is the one the user reads.
  const location: LocationInput =
    latitude === "" && longitude === ""
      ? null
      : ({
          latitude: latitude === "" ? undefined : Number(latitude),
          longitude: longitude === "" ? undefined : Number(longitude),
        } as Location);
  const before = datacenter.location;
  const locationChanged =
    location === null || before === null
      ? location !== before
      : location.latitude !== before.latitude || location.longitude !== before.longitude;
  const marked =
    location !== null &&
    Number.isFinite(location.latitude) &&
    Number.isFinite(location.longitude) &&
    Math.abs(location.latitude) <= 90 &&
    Math.abs(location.longitude) <= 180
      ? location
      : null;

  const save = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.PATCH("/api/v1/datacenters/{datacenter_id}", {
          params: { path: { datacenter_id: datacenter.id } },
          // Only what changed, so a concurrent edit of another field isn't undone.
          body: {
            ...(name !== datacenter.name ? { name } : {}),
            ...(description !== datacenter.description ? { description } : {}),
            ...(locationChanged ? { location } : {}),
          },
        }),
      ),
    onSuccess: async () => {
      await Promise.all([
        client.invalidateQueries({ queryKey: keys.datacenter(datacenter.id) }),
        client.invalidateQueries({ queryKey: keys.organization(datacenter.organization_id) }),
        client.invalidateQueries({ queryKey: keys.tree }),
      ]);
      onClose();
    },
  });
  const edit = (set: (value: string) => void) => (value: string) => {
    set(value);
    save.reset(); // the server's last word was about the old value
  };
  const pick = (picked: Location) => {
    setLatitude(String(picked.latitude));
    setLongitude(String(picked.longitude));
    save.reset();
  };
  const latitudeWarning = coordinateWarning(latitude, longitude, 90);
  const longitudeWarning = coordinateWarning(longitude, latitude, 180);
  // An error about the location as a whole (not one coordinate) shows under the map.
  const wholeLocationError =
    save.error instanceof ApiError && save.error.field === "location"
      ? save.error.message
      : undefined;

  return (
    <EditDialog
      title={`Edit datacenter ${datacenter.name}`}
      fields={["name", "description", "location"]}
      isPending={save.isPending}
      error={save.error}
      variant="medium"
      onSubmit={() => {
        if (name === datacenter.name && description === datacenter.description && !locationChanged)
          onClose();
        else save.mutate();
      }}
      onClose={onClose}
    >
      <NameField value={name} onChange={edit(setName)} error={save.error} />
      <DescriptionField value={description} onChange={edit(setDescription)} error={save.error} />
      <FormGroup label="Location" role="group">
        <Grid hasGutter>
          <GridItem md={8}>
            <WorldMap location={marked} onPick={pick} label="Location map" />
            <FormHelperText>
              <HelperText>
                {wholeLocationError ? (
                  <HelperTextItem variant="error">{wholeLocationError}</HelperTextItem>
                ) : (
                  <HelperTextItem>
                    {marked
                      ? `${formatLocation(marked)}. Click elsewhere to move it; arrow keys move it 1° (with Shift 10°).`
                      : "Click the map at the datacenter's place: latitude and longitude are computed from the point."}
                  </HelperTextItem>
                )}
              </HelperText>
            </FormHelperText>
          </GridItem>
          <GridItem md={4}>
            <Stack hasGutter>
              <FormGroup label="Latitude" fieldId={latitudeId}>
                <TextInput
                  id={latitudeId}
                  type="number"
                  step="any"
                  min={-90}
                  max={90}
                  value={latitude}
                  onChange={(_e, value) => edit(setLatitude)(value)}
                  validated={validation(save.error, "location.latitude", latitudeWarning)}
                  aria-describedby={`${latitudeId}-help`}
                />
                <FieldHelp
                  id={`${latitudeId}-help`}
                  error={save.error}
                  field="location.latitude"
                  hint="Degrees north (−90 to 90)."
                  warning={latitudeWarning}
                />
              </FormGroup>
              <FormGroup label="Longitude" fieldId={longitudeId}>
                <TextInput
                  id={longitudeId}
                  type="number"
                  step="any"
                  min={-180}
                  max={180}
                  value={longitude}
                  onChange={(_e, value) => edit(setLongitude)(value)}
                  validated={validation(save.error, "location.longitude", longitudeWarning)}
                  aria-describedby={`${longitudeId}-help`}
                />
                <FieldHelp
                  id={`${longitudeId}-help`}
                  error={save.error}
                  field="location.longitude"
                  hint="Degrees east (−180 to 180)."
                  warning={longitudeWarning}
                />
              </FormGroup>
              <div>
                <Button
                  variant="secondary"
                  onClick={() => {
                    setLatitude("");
                    setLongitude("");
                    save.reset();
                  }}
                  isDisabled={latitude === "" && longitude === ""}
                >
                  Clear location
                </Button>
              </div>
            </Stack>
          </GridItem>
        </Grid>
      </FormGroup>
    </EditDialog>
  );
}
