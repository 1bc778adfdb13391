/**
 * The seed's "Deploy Instance" overlay: a wizard (general information → volumes →
 * networking → review → Finish) that sends one `POST /api/v2/instances`, for a virtual
 * machine or a container. A container has no Volumes step: its root filesystem comes from
 * its image, chosen on General information, and it gets no new volumes at deploy.
 *
 * There is no dry run: the deploy call itself is the server's validation, and a refused
 * deploy (4xx) creates nothing. Its error names a field; the wizard goes back to the step
 * holding it and shows the message under that field. Hints mirror only the cheap rules
 * (name length, whole numbers, minimums) and are shown once the user has edited a field.
 *
 * After Finish the dialog follows the deploy task's progress while the app goes to the new
 * instance's page; the tree shows it under its node from the event feed.
 */
import {
  Alert,
  Modal,
  ModalVariant,
  Wizard,
  WizardHeader,
  WizardStep,
  useWizardContext,
} from "@patternfly/react-core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import { useNavigate } from "react-router";

import { api, unwrap } from "../../api/client";
import { ApiError } from "../../api/errors";
import {
  keys,
  type Node,
  type NodePool,
  useNodeCapabilities,
  useNodeImages,
  useNodePools,
  useNodePortGroups,
  useNodeVSwitches,
} from "../../api/queries";
import { paths } from "../app/routes";
import { DeployProgress } from "./DeployProgress";
import type { FieldErrors } from "./FieldMessage";
import {
  bodyOf,
  type DeployBody,
  type DeployForm,
  hasHintsIn,
  hintsFor,
  initialForm,
  type StepId,
  stepOf,
} from "./form";
import { GeneralStep } from "./GeneralStep";
import { NetworkingStep } from "./NetworkingStep";
import { ReviewStep } from "./ReviewStep";
import { VolumesStep } from "./VolumesStep";

/** Fields some step shows under a control; an error naming another goes in an alert. */
const SHOWN_FIELD =
  /^(type|metadata|name|description|memory|autostart|image|cpu|cpu\.(sockets|cores|threads)|metadata\.(firmware|machine_type|cpu_model|secure_boot|init|privileged|storage_pool_id|rootfs_size)|metadata\.new_volumes\[\d+\](\.(storage_pool_id|size|bus|dev|driver))?|networks\[\d+\](\.(vswitch_id|port_group_name|mac|model))?)$/;

/** The API fields a form key's edit makes worth judging (its hints are shown from then on). */
const TOUCHES: Record<keyof DeployForm, string[]> = {
  kind: [],
  name: ["name"],
  description: ["description"],
  sockets: ["cpu.sockets"],
  cores: ["cpu.cores"],
  threads: ["cpu.threads"],
  memory: ["memory"],
  firmware: [],
  machineType: ["metadata.new_volumes"],
  cpuModel: [],
  autostart: [],
  volumes: ["metadata.new_volumes", "image"],
  networks: ["networks"],
  image: ["image"],
  init: ["metadata.init"],
  privileged: [],
  rootPoolId: [],
  rootSize: ["metadata.rootfs_size"],
};

/** An empty pool choice means "the node's first usable pool", known once pools load. */
function withDefaultPool(form: DeployForm, pools: NodePool[] | undefined): DeployForm {
  const first = (pools?.find((p) => p.available) ?? pools?.[0])?.id ?? "";
  if (!form.volumes.some((v) => v.poolId === "")) return form;
  return { ...form, volumes: form.volumes.map((v) => (v.poolId ? v : { ...v, poolId: first })) };
}

export function DeployInstanceDialog({ node, onClose }: { node: Node; onClose: () => void }) {
  const client = useQueryClient();
  const navigate = useNavigate();
  const capabilities = useNodeCapabilities(node.id);
  const pools = useNodePools(node.id);
  const images = useNodeImages(node.id);
  const vswitches = useNodeVSwitches(node.id);
  const portGroups = useNodePortGroups(node.id);

  // One root volume to start with, as the CLI deploys; the user can remove it.
  const [draft, setDraft] = useState<DeployForm>(() => ({
    ...initialForm(),
    volumes: [{ key: 1, poolId: "", size: "10", bus: "virtio" }],
  }));
  const [touched, setTouched] = useState<ReadonlySet<string>>(new Set());
  const [jumpTo, setJumpTo] = useState<StepId | null>(null);
  const [taskId, setTaskId] = useState<string | null>(null);

  const form = withDefaultPool(draft, pools.data);
  const hints = useMemo(() => hintsFor(form, images.data), [form, images.data]);
  // The node's guest architecture: the one its hypervisor reported (x86_64 on every node today).
  const archName = capabilities.data?.x86_64
    ? "x86_64"
    : (Object.keys(capabilities.data ?? {})[0] ?? "x86_64");
  const arch = capabilities.data?.[archName];

  const deploy = useMutation({
    mutationFn: async (body: DeployBody) => unwrap(await api.POST("/api/v2/instances", { body })),
    onSuccess: async ({ task_id }) => {
      setTaskId(task_id);
      // The instance row exists as soon as the deploy is accepted; its ID is the task's target.
      void client.invalidateQueries({ queryKey: keys.nodeInstances(node.id) });
      const task = unwrap(
        await api.GET("/api/v1/tasks/{task_id}", { params: { path: { task_id } } }),
      );
      client.setQueryData(keys.task(task_id), task);
      if (task.target_id) void navigate(paths.instance(task.target_id));
    },
    onError: (error) => {
      const step = error instanceof ApiError ? stepOf(error.field, form.kind) : null;
      if (step) setJumpTo(step);
    },
  });

  const update = (change: Partial<DeployForm>) => {
    setDraft((current) => ({ ...withDefaultPool(current, pools.data), ...change }));
    setTouched((current) => {
      const next = new Set(current);
      for (const key of Object.keys(change) as (keyof DeployForm)[]) {
        for (const field of TOUCHES[key]) next.add(field);
      }
      return next;
    });
    // The server's message was about what the user is now changing: it no longer applies.
    if (deploy.error) deploy.reset();
  };

  // Messages under fields: the server's for the field it named, else the hints of edited fields.
  const errors: FieldErrors = {};
  for (const [field, message] of Object.entries(hints)) {
    if ([...touched].some((t) => field === t || field.startsWith(t))) errors[field] = message;
  }
  const serverError = deploy.error instanceof ApiError ? deploy.error : null;
  if (serverError?.field && SHOWN_FIELD.test(serverError.field)) {
    errors[serverError.field] = serverError.message;
  }
  const alertStep: StepId | null = deploy.error
    ? serverError?.field && SHOWN_FIELD.test(serverError.field)
      ? null
      : (stepOf(serverError?.field, form.kind) ?? "review")
    : null;
  const alert = (step: StepId) =>
    alertStep === step && deploy.error ? (
      <Alert variant="danger" isInline title="The deploy was refused; nothing was created" className="pf-v6-u-mb-md">
        {deploy.error.message}
      </Alert>
    ) : null;

  const status = (step: StepId): "error" | "default" =>
    hasHintsIn(errors, step, form.kind) || (serverError && stepOf(serverError.field, form.kind) === step)
      ? "error"
      : "default";
  const nextDisabled = (step: StepId) => hasHintsIn(hints, step, form.kind);

  if (taskId !== null) {
    return <DeployProgress taskId={taskId} name={form.name.trim()} onClose={onClose} />;
  }

  return (
    <Modal
      isOpen
      variant={ModalVariant.large}
      // Escape closes; no close button of the modal's own: the wizard's header has one.
      onEscapePress={onClose}
      aria-label="Deploy Instance"
    >
      <Wizard
        height={640}
        isVisitRequired
        onClose={onClose}
        onSave={() => deploy.mutate(bodyOf(form, node.id, archName))}
        header={
          <WizardHeader
            title="Deploy Instance"
            description={`On node ${node.name}`}
            onClose={onClose}
            closeButtonAriaLabel="Close"
          />
        }
      >
        <WizardStep
          id="general"
          name="General information"
          status={status("general")}
          footer={{ isNextDisabled: nextDisabled("general") }}
        >
          {alert("general")}
          <GeneralStep
            form={form}
            update={update}
            errors={errors}
            capabilities={arch}
            images={images.data}
            pools={pools.data}
          />
        </WizardStep>
        <WizardStep
          id="volumes"
          name="Volumes"
          isHidden={form.kind === "lxc"}
          status={status("volumes")}
          footer={{ isNextDisabled: nextDisabled("volumes") }}
        >
          {alert("volumes")}
          <VolumesStep
            form={form}
            update={update}
            errors={errors}
            pools={pools.data}
            images={images.data}
          />
        </WizardStep>
        <WizardStep
          id="networking"
          name="Networking"
          status={status("networking")}
          footer={{ isNextDisabled: nextDisabled("networking") }}
        >
          {alert("networking")}
          <NetworkingStep
            form={form}
            update={update}
            errors={errors}
            vswitches={vswitches.data}
            portGroups={portGroups.data}
          />
        </WizardStep>
        <WizardStep
          id="review"
          name="Review"
          footer={{
            nextButtonText: "Finish",
            isNextDisabled: deploy.isPending || Object.keys(hints).length > 0,
            nextButtonProps: { isLoading: deploy.isPending },
          }}
        >
          <JumpOnError step={jumpTo} done={() => setJumpTo(null)} />
          {alert("review")}
          <ReviewStep
            form={form}
            nodeName={node.name}
            pools={pools.data}
            images={images.data}
            vswitches={vswitches.data}
          />
        </WizardStep>
      </Wizard>
    </Modal>
  );
}

/** Inside the wizard (where its context is): moves to the step holding the refused field. */
function JumpOnError({ step, done }: { step: StepId | null; done: () => void }) {
  const { goToStepById } = useWizardContext();
  useEffect(() => {
    if (step === null) return;
    goToStepById(step);
    done();
  }, [step, goToStepById, done]);
  return null;
}
