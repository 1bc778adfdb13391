/**
 * The application: one QueryClient (all server state), the router, and the line between
 * the sign-in page and everything behind a session.
 */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { BrowserRouter, Navigate, Route, Routes } from "react-router";

import { retryNetworkFailure } from "../../api/errors";
import { SignInPage } from "../auth/SignInPage";
import { DialogProvider } from "../common/DialogHost";
import { AppLayout } from "./AppLayout";
import { RequireSession } from "./RequireSession";
import { pageRoutes } from "./routes";

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // The event feed marks data stale when it changes; no polling, no refetch on focus.
      staleTime: 60_000,
      refetchOnWindowFocus: false,
      retry: retryNetworkFailure,
    },
  },
});

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <BrowserRouter>
        <Routes>
          <Route path="/signin" element={<SignInPage />} />
          <Route
            element={
              <RequireSession>
                <DialogProvider>
                  <AppLayout />
                </DialogProvider>
              </RequireSession>
            }
          >
            {pageRoutes}
            <Route path="*" element={<Navigate to="/" replace />} />
          </Route>
        </Routes>
      </BrowserRouter>
    </QueryClientProvider>
  );
}
