/**
 * Catches what a page throws while rendering, so one broken page doesn't blank the whole
 * application. The usual cause in the field is an upgrade: the page still runs the old
 * bundle, whose lazily loaded chunks (the console's) no longer exist on the server; a
 * reload fetches the new one. Place it with `key` set to what should reset it (the route).
 */
import { Button, EmptyState, EmptyStateActions, EmptyStateBody, EmptyStateFooter } from "@patternfly/react-core";
import { ExclamationCircleIcon } from "@patternfly/react-icons";
import { Component, type ErrorInfo, type ReactNode } from "react";

import { messageOf } from "../../api/errors";

interface Props {
  children: ReactNode;
  /** What failed to show, e.g. "This page" or "The console". */
  what?: string;
}

interface State {
  error: unknown;
}

export class ErrorBoundary extends Component<Props, State> {
  override state: State = { error: null };

  static getDerivedStateFromError(error: unknown): State {
    return { error };
  }

  override componentDidCatch(error: unknown, info: ErrorInfo) {
    // Kept for whoever opens the browser's console to report the problem.
    console.warn("A page failed to render", error, info.componentStack);
  }

  override render() {
    if (this.state.error === null) return this.props.children;
    const what = this.props.what ?? "This page";
    return (
      <EmptyState
        titleText={`${what} could not be shown`}
        headingLevel="h2"
        icon={ExclamationCircleIcon}
        status="danger"
      >
        <EmptyStateBody>
          {messageOf(this.state.error)} If cloudenv was just upgraded, reloading loads the new
          version.
        </EmptyStateBody>
        <EmptyStateFooter>
          <EmptyStateActions>
            <Button variant="primary" onClick={() => window.location.reload()}>
              Reload
            </Button>
          </EmptyStateActions>
        </EmptyStateFooter>
      </EmptyState>
    );
  }
}
