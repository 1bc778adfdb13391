/** Product name, the tasks indicator, and the signed-in user with Log out. */
import {
  Button,
  Masthead,
  MastheadBrand,
  MastheadContent,
  MastheadMain,
  MastheadToggle,
  PageToggleButton,
  Toolbar,
  ToolbarContent,
  ToolbarGroup,
  ToolbarItem,
} from "@patternfly/react-core";
import { BarsIcon, UserIcon } from "@patternfly/react-icons";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate } from "react-router";

import { api } from "../../api/client";
import { useMe } from "../../api/queries";
import { TasksButton } from "../tasks/TasksButton";

export function AppMasthead({
  tasksOpen,
  onToggleTasks,
}: {
  tasksOpen: boolean;
  onToggleTasks: () => void;
}) {
  const me = useMe();
  const navigate = useNavigate();
  const client = useQueryClient();
  const logout = useMutation({
    mutationFn: async () => api.POST("/api/v1/auth/logout"),
    onSettled: () => {
      client.clear();
      navigate("/signin", { replace: true });
    },
  });

  return (
    <Masthead>
      <MastheadMain>
        <MastheadToggle>
          <PageToggleButton variant="plain" aria-label="Resource tree">
            <BarsIcon />
          </PageToggleButton>
        </MastheadToggle>
        <MastheadBrand>
          <Link to="/" className="ce-brand">
            cloudenv
          </Link>
        </MastheadBrand>
      </MastheadMain>
      <MastheadContent>
        <Toolbar isFullHeight isStatic>
          <ToolbarContent>
            <ToolbarGroup align={{ default: "alignEnd" }}>
              <ToolbarItem>
                <TasksButton isExpanded={tasksOpen} onToggle={onToggleTasks} />
              </ToolbarItem>
              <ToolbarItem>
                <span className="ce-user" aria-label="Signed-in user">
                  <UserIcon /> {me.data?.username}
                </span>
              </ToolbarItem>
              <ToolbarItem>
                <Button variant="secondary" onClick={() => logout.mutate()}>
                  Log out
                </Button>
              </ToolbarItem>
            </ToolbarGroup>
          </ToolbarContent>
        </Toolbar>
      </MastheadContent>
    </Masthead>
  );
}
