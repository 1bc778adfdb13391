/** Placeholder until the consoles change brings the VNC screen and serial terminal. */
import type { Instance } from "../../api/queries";

export function InstanceConsole({ instance }: { instance: Instance }) {
  return <p>The console of {instance.name} is not available in this build yet.</p>;
}
