/** Product name, the tasks indicator, the signed-in user's menu (My account), and Log out. */
import {
  Button,
  Dropdown,
  DropdownItem,
  DropdownList,
  Masthead,
  MastheadBrand,
  MastheadContent,
  MastheadMain,
  MastheadToggle,
  MenuToggle,
  PageToggleButton,
  Toolbar,
  ToolbarContent,
  ToolbarGroup,
  ToolbarItem,
} from "@patternfly/react-core";
import { BarsIcon, UserIcon } from "@patternfly/react-icons";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useNavigate } from "react-router";

import { api } from "../../api/client";
import { useMe } from "../../api/queries";
import { TasksButton } from "../tasks/TasksButton";
import { paths } from "./routes";

export function AppMasthead({
  tasksOpen,
  onToggleTasks,
}: {
  tasksOpen: boolean;
  onToggleTasks: () => void;
}) {
  const me = useMe();
  const [menuOpen, setMenuOpen] = useState(false);
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
                <Dropdown
                  isOpen={menuOpen}
                  onOpenChange={setMenuOpen}
                  popperProps={{ position: "right" }}
                  toggle={(ref) => (
                    <MenuToggle
                      ref={ref}
                      variant="plainText"
                      aria-label="Signed-in user"
                      icon={<UserIcon />}
                      onClick={() => setMenuOpen(!menuOpen)}
                      isExpanded={menuOpen}
                    >
                      {me.data?.username}
                    </MenuToggle>
                  )}
                >
                  <DropdownList>
                    <DropdownItem
                      onClick={() => {
                        setMenuOpen(false);
                        void navigate(paths.account);
                      }}
                    >
                      My account
                    </DropdownItem>
                  </DropdownList>
                </Dropdown>
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
