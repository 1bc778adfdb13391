/**
 * The seed's "Configure networking for connectivity if required": the instance's network
 * interfaces, each on a port group of one of the node's vSwitches (the port group decides
 * its VLAN), with an optional MAC (empty: the server generates one, unique in the cluster)
 * and the model the guest sees (virtio, or e1000 for guests without virtio drivers). A
 * container's interface is a veth pair into the vSwitch, so it has no model to choose.
 * None is allowed: the instance is then reached through its console only.
 */
import {
  Content,
  Form,
  FormGroup,
  FormSelect,
  FormSelectOption,
  Grid,
  GridItem,
  TextInput,
} from "@patternfly/react-core";

import { NIC_MODELS, type PortGroup, type VSwitch, vlansOf } from "../../api/network";
import { FieldMessage, type FieldErrors, validatedOf } from "./FieldMessage";
import { AddRowButton, RemoveRowCell } from "./RowButtons";
import type { DeployForm, NetworkForm } from "./form";

/** Past this many a guest's PCI slots and its boot get crowded; attach more later. */
export const MAX_NETWORKS = 8;

interface Props {
  form: DeployForm;
  update: (change: Partial<DeployForm>) => void;
  errors: FieldErrors;
  vswitches: VSwitch[] | undefined;
  portGroups: PortGroup[] | undefined;
}

export function portGroupLabel(group: PortGroup): string {
  return `${group.name} (VLAN ${vlansOf(group)})`;
}

export function NetworkingStep({ form, update, errors, vswitches, portGroups }: Props) {
  const switches = vswitches ?? [];
  const hasModel = form.kind === "qemu";
  const groupsOf = (vswitchId: string) =>
    (portGroups ?? []).filter((g) => g.vswitch_id === vswitchId);

  const setNetwork = (index: number, change: Partial<NetworkForm>) =>
    update({ networks: form.networks.map((n, i) => (i === index ? { ...n, ...change } : n)) });
  const addNetwork = () => {
    const key = Math.max(0, ...form.networks.map((n) => n.key)) + 1;
    // The first vSwitch with a port group, and its first group: the usual single choice.
    const first = switches.find((v) => groupsOf(v.id).length > 0);
    update({
      networks: [
        ...form.networks,
        {
          key,
          vswitchId: first?.id ?? "",
          portGroup: first ? (groupsOf(first.id)[0]?.name ?? "") : "",
          mac: "",
          model: "virtio",
        },
      ],
    });
  };
  const removeNetwork = (index: number) =>
    update({ networks: form.networks.filter((_n, i) => i !== index) });

  return (
    <Form onSubmit={(event) => event.preventDefault()}>
      <Content component="p">
        Each network interface joins a port group of one of this node&apos;s vSwitches. Without
        one, the instance is reached through its console only.
      </Content>
      {form.networks.map((network, index) => {
        const field = `networks[${index}]`;
        const label = `Interface ${index + 1}`;
        const groups = groupsOf(network.vswitchId);
        return (
          <Grid hasGutter key={network.key} role="group" aria-label={label}>
            <GridItem md={3}>
              <FormGroup label={`${label}: vSwitch`} isRequired fieldId={`deploy-vswitch-${network.key}`}>
                <FormSelect
                  id={`deploy-vswitch-${network.key}`}
                  value={network.vswitchId}
                  onChange={(_e, value) =>
                    setNetwork(index, { vswitchId: value, portGroup: groupsOf(value)[0]?.name ?? "" })
                  }
                  validated={validatedOf(errors, `${field}.vswitch_id`)}
                >
                  {network.vswitchId === "" && (
                    <FormSelectOption value="" label="Choose a vSwitch" isPlaceholder />
                  )}
                  {switches.map((v) => (
                    <FormSelectOption key={v.id} value={v.id} label={v.name} />
                  ))}
                </FormSelect>
                <FieldMessage errors={errors} field={`${field}.vswitch_id`} />
              </FormGroup>
            </GridItem>
            <GridItem md={3}>
              <FormGroup label={`${label}: Port group`} isRequired fieldId={`deploy-portgroup-${network.key}`}>
                <FormSelect
                  id={`deploy-portgroup-${network.key}`}
                  value={network.portGroup}
                  onChange={(_e, value) => setNetwork(index, { portGroup: value })}
                  validated={validatedOf(errors, `${field}.port_group_name`)}
                >
                  {network.portGroup === "" && (
                    <FormSelectOption
                      value=""
                      label={network.vswitchId && groups.length === 0 ? "No port group on it" : "Choose a port group"}
                      isPlaceholder
                    />
                  )}
                  {groups.map((g) => (
                    <FormSelectOption key={g.name} value={g.name} label={portGroupLabel(g)} />
                  ))}
                </FormSelect>
                <FieldMessage errors={errors} field={`${field}.port_group_name`} />
              </FormGroup>
            </GridItem>
            <GridItem md={3}>
              <FormGroup label={`${label}: MAC address`} fieldId={`deploy-mac-${network.key}`}>
                <TextInput
                  id={`deploy-mac-${network.key}`}
                  value={network.mac}
                  placeholder="Generated"
                  onChange={(_e, value) => setNetwork(index, { mac: value })}
                  validated={validatedOf(errors, `${field}.mac`, ...(hasModel ? [] : [field]))}
                  autoComplete="off"
                />
                <FieldMessage errors={errors} field={`${field}.mac`} />
                {!hasModel && <FieldMessage errors={errors} field={field} />}
              </FormGroup>
            </GridItem>
            {hasModel && (
              <GridItem md={2}>
                <FormGroup label={`${label}: Model`} fieldId={`deploy-model-${network.key}`}>
                  <FormSelect
                    id={`deploy-model-${network.key}`}
                    value={network.model}
                    onChange={(_e, value) => setNetwork(index, { model: value })}
                    validated={validatedOf(errors, `${field}.model`, field)}
                  >
                    {NIC_MODELS.map((model) => (
                      <FormSelectOption key={model} value={model} label={model} />
                    ))}
                  </FormSelect>
                  <FieldMessage errors={errors} field={`${field}.model`} />
                  <FieldMessage errors={errors} field={field} />
                </FormGroup>
              </GridItem>
            )}
            <RemoveRowCell what="interface" index={index} onRemove={removeNetwork} />
          </Grid>
        );
      })}
      <div>
        <AddRowButton onAdd={addNetwork} full={form.networks.length >= MAX_NETWORKS}>
          Add interface
        </AddRowButton>
        {vswitches !== undefined && switches.length === 0 && (
          <Content component="small">
            {" "}
            This node has no vSwitch: create one in its Network tab.
          </Content>
        )}
      </div>
    </Form>
  );
}
