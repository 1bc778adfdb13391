/**
 * Where dialogs opened from anywhere (a tree's context menu, a page's actions) are shown.
 * Only which dialog is open lives here; the data a dialog edits stays in TanStack Query.
 *
 * Each opened dialog gets its own `close`, bound to that opening: a dialog closes itself
 * from its mutation's onSuccess, which still runs after the dialog was replaced by another
 * one, so a shared "close whatever is open" would close the wrong dialog.
 */
import { createContext, type ReactNode, useCallback, useContext, useMemo, useRef, useState } from "react";

/** Renders a dialog; calling `close` removes it (and only it). */
export type DialogRender = (close: () => void) => ReactNode;

interface Dialogs {
  /** Shows the dialog; returns its `close`, a no-op once another dialog is current. */
  open: (render: DialogRender) => () => void;
}

interface Current {
  token: number;
  render: DialogRender;
  close: () => void;
}

const DialogContext = createContext<Dialogs | null>(null);

export function DialogProvider({ children }: { children: ReactNode }) {
  const [current, setCurrent] = useState<Current | null>(null);
  const nextToken = useRef(0);
  const open = useCallback((render: DialogRender) => {
    nextToken.current += 1;
    const token = nextToken.current;
    const close = () => setCurrent((shown) => (shown?.token === token ? null : shown));
    setCurrent({ token, render, close });
    return close;
  }, []);
  const value = useMemo(() => ({ open }), [open]);
  return (
    <DialogContext.Provider value={value}>
      {children}
      {/* Keyed by the opening, so a new dialog never inherits the previous one's state. */}
      {current ? <DialogSlot key={current.token} current={current} /> : null}
    </DialogContext.Provider>
  );
}

function DialogSlot({ current }: { current: Current }) {
  return <>{current.render(current.close)}</>;
}

export function useDialogs(): Dialogs {
  const dialogs = useContext(DialogContext);
  if (!dialogs) throw new Error("useDialogs needs a DialogProvider above it");
  return dialogs;
}
