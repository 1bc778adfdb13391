/**
 * Where dialogs opened from anywhere (a tree's context menu, a page's actions) are shown.
 * Only which dialog is open lives here; the data a dialog edits stays in TanStack Query.
 */
import { createContext, type ReactNode, useCallback, useContext, useMemo, useState } from "react";

/** Renders a dialog; calling `close` removes it. */
export type DialogRender = (close: () => void) => ReactNode;

interface Dialogs {
  open: (render: DialogRender) => void;
}

const DialogContext = createContext<Dialogs | null>(null);

export function DialogProvider({ children }: { children: ReactNode }) {
  const [render, setRender] = useState<DialogRender | null>(null);
  const close = useCallback(() => setRender(null), []);
  const open = useCallback((next: DialogRender) => setRender(() => next), []);
  const value = useMemo(() => ({ open }), [open]);
  return (
    <DialogContext.Provider value={value}>
      {children}
      {render ? render(close) : null}
    </DialogContext.Provider>
  );
}

export function useDialogs(): Dialogs {
  const dialogs = useContext(DialogContext);
  if (!dialogs) throw new Error("useDialogs needs a DialogProvider above it");
  return dialogs;
}
