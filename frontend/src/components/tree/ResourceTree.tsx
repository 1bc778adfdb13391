/**
 * The resource tree (seed: "Resource Tree"): organizations > datacenters > clusters > nodes
 * > instances, with a name filter, right-click menus, and the node this browser talks to
 * marked with a light green dot.
 *
 * Built for 10,000 instances: only open branches are flattened (model.ts), only the rows in
 * view are in the DOM (a virtualizer), rows are memoized, and a node's instances are fetched
 * when it is opened. The filter matches the spine here and asks the server for the instances
 * whose name holds the text (a bounded search), so it never reads every instance list. It
 * follows the cloud through the event feed (api/events.ts), which marks the tree and
 * instance lists and searches stale; nothing here polls.
 *
 * Keyboard: the WAI-ARIA tree pattern with one tabbable row (roving tabindex): Up/Down,
 * Right opens or goes to the first child, Left closes or goes to the parent, Home/End,
 * Enter opens the page, Shift+F10 or the ContextMenu key opens the actions menu.
 */
import { Alert, SearchInput, Spinner } from "@patternfly/react-core";
import { keepPreviousData, useQueries, useQuery } from "@tanstack/react-query";
import { defaultRangeExtractor, type Range, useVirtualizer } from "@tanstack/react-virtual";
import {
  type FocusEvent,
  type KeyboardEvent,
  useCallback,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
} from "react";
import { useLocation, useNavigate } from "react-router";

import { messageOf } from "../../api/errors";
import {
  type Instance,
  instanceSearchQuery,
  nodeInstancesQuery,
  SEARCH_SHOWN,
  useInstance,
  useServingNode,
  useTree,
} from "../../api/queries";
import { paths } from "../app/routes";
import { isContainer, typeTitle } from "../instances/states";
import {
  ancestorsOf,
  buildSpine,
  flatten,
  type Kind,
  keyOf,
  type Resource,
} from "./model";
import { TreeContextMenu } from "./TreeContextMenu";
import { TreeRow } from "./TreeRow";

const ROW_HEIGHT = 32; // px; every row is one line, so sizes need no measuring
/** The longest instance name (the API's rule), so the longest search worth asking. */
const INSTANCE_NAME_MAX = 255;
/** How long the filter text must hold still before the server is asked again. */
const SEARCH_DEBOUNCE_MS = 120;
const NO_KEYS: ReadonlySet<string> = new Set();

const AREAS: Record<string, Kind> = {
  organizations: "organization",
  datacenters: "datacenter",
  clusters: "cluster",
  nodes: "node",
  instances: "instance",
};

function pathOf(resource: Resource): string {
  return paths[resource.kind](resource.value.id);
}

/** The resource the URL shows (`/<area>/<id>/...`), which the tree highlights. */
function selectionOf(pathname: string): { kind: Kind; id: string } | null {
  const [, area = "", id] = pathname.split("/");
  const kind = AREAS[area];
  return kind && id ? { kind, id: decodeURIComponent(id) } : null;
}

function stateOf(resource: Resource): string {
  if (resource.kind === "instance") return resource.value.state;
  if (resource.kind === "node") return resource.value.alive ? "alive" : "down";
  return "";
}

function withKeys(set: ReadonlySet<string>, keys: string[]): ReadonlySet<string> {
  if (keys.every((key) => set.has(key))) return set;
  return new Set([...set, ...keys]);
}

function without(set: ReadonlySet<string>, key: string): ReadonlySet<string> {
  if (!set.has(key)) return set;
  const next = new Set(set);
  next.delete(key);
  return next;
}

/** The matches of a name search, grouped by node. */
function groupByNode(instances: Instance[]): Map<string, Instance[]> {
  const byNode = new Map<string, Instance[]>();
  for (const instance of instances) {
    const list = byNode.get(instance.node_id);
    if (list) list.push(instance);
    else byNode.set(instance.node_id, [instance]);
  }
  return byNode;
}

/**
 * The filter text as the server search should see it: the text once it has held still for
 * SEARCH_DEBOUNCE_MS, so typing a name asks once, not once a letter; a change after a quiet
 * spell (the first letter, a paste) is asked at once rather than after the wait.
 */
function useSearchText(): [string, (text: string) => void] {
  const [searchText, setSearchText] = useState("");
  const lastChange = useRef(-Infinity);
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(timer.current), []);
  const change = useCallback((text: string) => {
    const now = performance.now();
    const quiet = now - lastChange.current >= SEARCH_DEBOUNCE_MS;
    lastChange.current = now;
    window.clearTimeout(timer.current);
    if (quiet) setSearchText(text);
    else timer.current = window.setTimeout(() => setSearchText(text), SEARCH_DEBOUNCE_MS);
  }, []);
  return [searchText, change];
}

/** The row a menu was opened on, by key: the menu reads the row's current resource on
 * every render, so what it offers (and why not) follows the event feed while it is open. */
interface MenuTarget {
  key: string;
  x: number;
  y: number;
}

/** The rows in view (and the overscan), plus the row that holds the tree's one tab stop:
 * unmounting that row would drop keyboard focus to the page, and Tab would skip the tree. */
function keepingRow(index: number): (range: Range) => number[] {
  return (range) => {
    const indexes = defaultRangeExtractor(range);
    if (index < 0 || index >= range.count || indexes.includes(index)) return indexes;
    const first = indexes[0];
    return first === undefined || index < first ? [index, ...indexes] : [...indexes, index];
  };
}

export function ResourceTree() {
  const tree = useTree();
  const serving = useServingNode();
  const navigate = useNavigate();
  const location = useLocation();

  const [filterText, setFilterText] = useState("");
  const [searchText, setSearchText] = useSearchText();
  const changeFilter = (text: string) => {
    setFilterText(text);
    setSearchText(text.trim());
  };
  const filter = filterText.trim().toLowerCase();
  const filtering = filter !== "";

  const [expanded, setExpanded] = useState<ReadonlySet<string>>(NO_KEYS);
  const [closed, setClosed] = useState({ filter: "", keys: NO_KEYS });
  const closedInFilter = closed.filter === filter ? closed.keys : NO_KEYS;

  const spine = useMemo(() => (tree.data ? buildSpine(tree.data) : null), [tree.data]);

  // Each open node's instances, one query per node (cached, refreshed by the event feed).
  const openNodes = useMemo(
    () => [...expanded].filter((key) => key.startsWith("node:")).map((key) => key.slice(5)),
    [expanded],
  );
  const combine = useCallback(
    (results: { data?: Instance[] }[]) =>
      new Map(openNodes.map((id, index) => [id, results[index]?.data])),
    [openNodes],
  );
  const perNode = useQueries({ queries: openNodes.map(nodeInstancesQuery), combine });

  // Instance names live on their nodes, most never opened: the server finds the matches
  // (the first SEARCH_SHOWN by name; one more says there are more). The previous answer
  // stays while the next is on its way, narrowed here to the current text, so the rows
  // follow each key press at once and fill in when the server answers.
  const search = useQuery({
    ...instanceSearchQuery(searchText),
    // No instance name is longer than the API's limit, which refuses a longer search.
    enabled: filtering && searchText !== "" && searchText.length <= INSTANCE_NAME_MAX,
    placeholderData: keepPreviousData,
  });
  const capped = filtering && (search.data?.length ?? 0) > SEARCH_SHOWN;
  const matchesByNode = useMemo(
    () => groupByNode(search.data?.slice(0, SEARCH_SHOWN) ?? []),
    [search.data],
  );
  const searching = filtering && (search.isFetching || searchText.toLowerCase() !== filter);

  // The page on the right decides the selection; an instance's node comes from its record.
  const selection = useMemo(() => selectionOf(location.pathname), [location.pathname]);
  const selectedKey = selection ? keyOf(selection.kind, selection.id) : null;
  const selectedInstance = useInstance(
    selection?.kind === "instance" ? selection.id : "",
    selection?.kind === "instance",
  );
  const selectionPath = useMemo(() => {
    if (!spine || !selection) return [];
    if (selection.kind !== "instance") return ancestorsOf(spine, keyOf(selection.kind, selection.id));
    const nodeId = selectedInstance.data?.instance.node_id;
    if (!nodeId) return [];
    const nodeKey = keyOf("node", nodeId);
    return [...ancestorsOf(spine, nodeKey), nodeKey];
  }, [spine, selection, selectedInstance.data]);

  // Open the selection's branch when it changes (a deep link, a link on a page), and on
  // first load the organizations and the path to this browser's node. State adjusted while
  // rendering, as React advises for state derived from a change, not in an effect.
  const revealKey = `${selectedKey ?? ""}|${selectionPath.join(",")}`;
  const [revealed, setRevealed] = useState("");
  if (revealKey !== revealed) {
    setRevealed(revealKey);
    if (selectionPath.length) setExpanded((previous) => withKeys(previous, selectionPath));
  }
  const [initialized, setInitialized] = useState(false);
  if (!initialized && spine && !serving.isPending) {
    setInitialized(true);
    const opened = spine.organizations.map((org) => keyOf("organization", org.organization.id));
    if (serving.data) {
      const nodeKey = keyOf("node", serving.data);
      if (spine.parent.has(nodeKey)) opened.push(...ancestorsOf(spine, nodeKey), nodeKey);
    }
    setExpanded((previous) => withKeys(previous, opened));
  }

  const rows = useMemo(() => {
    if (!spine) return [];
    return flatten({
      spine,
      expanded,
      filter,
      closedInFilter,
      // An opened node's own list is complete (the filter narrows it); otherwise, while
      // filtering, the search's matches on it. A node without either is unknown, so it
      // keeps its chevron: opening it loads its list.
      instancesOf: (nodeId) =>
        perNode.get(nodeId) ?? (filtering ? matchesByNode.get(nodeId) : undefined),
    });
  }, [spine, expanded, filter, filtering, closedInFilter, perNode, matchesByNode]);
  const indexOf = useMemo(() => new Map(rows.map((row, index) => [row.key, index])), [rows]);

  // Roving tabindex: the focused row, else the selected one, else the first is tabbable.
  const [focusKey, setFocusKey] = useState<string | null>(null);
  const tabbableKey =
    focusKey !== null && indexOf.has(focusKey)
      ? focusKey
      : selectedKey !== null && indexOf.has(selectedKey)
        ? selectedKey
        : (rows[0]?.key ?? null);
  const tabbableIndex = tabbableKey === null ? -1 : (indexOf.get(tabbableKey) ?? -1);
  const rangeExtractor = useMemo(() => keepingRow(tabbableIndex), [tabbableIndex]);

  const scroller = useRef<HTMLDivElement>(null);
  // eslint-disable-next-line react-hooks/incompatible-library -- the virtualizer's functions are read on every render, never memoized
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    getItemKey: (index) => rows[index]?.key ?? index,
    overscan: 12,
    rangeExtractor,
  });
  const pendingFocus = useRef<string | null>(null);
  const moveFocus = useCallback(
    (key: string, index: number) => {
      setFocusKey(key);
      pendingFocus.current = key;
      virtualizer.scrollToIndex(index, { align: "auto" });
    },
    [virtualizer],
  );
  // A row scrolled into view is drawn on the next frame or two: focus it once it exists.
  useEffect(() => {
    const key = pendingFocus.current;
    if (key === null) return undefined;
    let frame = 0;
    let tries = 0;
    const attempt = () => {
      const row = scroller.current?.querySelector<HTMLElement>(`[data-key="${CSS.escape(key)}"]`);
      if (row) {
        pendingFocus.current = null;
        row.focus();
      } else if (tries++ < 5) {
        frame = requestAnimationFrame(attempt);
      }
    };
    attempt();
    return () => cancelAnimationFrame(frame);
  });

  // Scroll the selection into view once its row exists (after its branch opened).
  const scrolledTo = useRef<string | null>(null);
  const selectedIndex = selectedKey !== null ? (indexOf.get(selectedKey) ?? -1) : -1;
  useEffect(() => {
    if (selectedIndex < 0 || scrolledTo.current === selectedKey) return;
    scrolledTo.current = selectedKey;
    virtualizer.scrollToIndex(selectedIndex, { align: "auto" });
  }, [selectedIndex, selectedKey, virtualizer]);

  // Row callbacks stay the same functions across renders (rows are memoized), so they read
  // the current rows from a ref the layout effect keeps fresh.
  const current = useRef({ rows, indexOf, filter, filtering });
  useLayoutEffect(() => {
    current.current = { rows, indexOf, filter, filtering };
  });

  const toggle = useCallback((key: string) => {
    const { rows: list, indexOf: index, filter: text, filtering: on } = current.current;
    const at = index.get(key);
    const row = at === undefined ? undefined : list[at];
    if (!row?.expandable) return;
    if (row.expanded) {
      setExpanded((previous) => without(previous, key));
      if (on) {
        setClosed((previous) => ({
          filter: text,
          keys: withKeys(previous.filter === text ? previous.keys : NO_KEYS, [key]),
        }));
      }
    } else {
      setExpanded((previous) => withKeys(previous, [key]));
      if (on) {
        setClosed((previous) =>
          previous.filter === text ? { filter: text, keys: without(previous.keys, key) } : previous,
        );
      }
    }
  }, []);

  const activate = useCallback(
    (key: string) => {
      const { rows: list, indexOf: index } = current.current;
      const at = index.get(key);
      const row = at === undefined ? undefined : list[at];
      if (!row) return;
      setFocusKey(key);
      void navigate(pathOf(row.resource));
    },
    [navigate],
  );

  const [menu, setMenu] = useState<MenuTarget | null>(null);
  const openMenuKey = useRef<string | null>(null);
  useLayoutEffect(() => {
    openMenuKey.current = menu?.key ?? null;
  }, [menu]);
  const openMenu = useCallback((key: string, x: number, y: number) => {
    const { rows: list, indexOf: index } = current.current;
    const at = index.get(key);
    const row = at === undefined ? undefined : list[at];
    if (!row) return;
    let position = { x, y };
    // A menu asked for from the keyboard has no pointer: put it under the row's name.
    if (x === 0 && y === 0) {
      const element = document.querySelector<HTMLElement>(`[data-key="${CSS.escape(key)}"]`);
      const box = element?.querySelector(".ce-tree__name")?.getBoundingClientRect();
      if (box) position = { x: box.left, y: box.bottom };
    }
    setFocusKey(key);
    setMenu({ key, ...position });
  }, []);
  const closeMenu = useCallback(
    (restoreFocus: boolean) => {
      const key = openMenuKey.current;
      setMenu(null);
      const at = key === null ? undefined : current.current.indexOf.get(key);
      if (restoreFocus && key !== null && at !== undefined) moveFocus(key, at);
    },
    [moveFocus],
  );

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const element = (event.target as HTMLElement).closest<HTMLElement>('[role="treeitem"]');
    const key = element?.dataset.key;
    const at = key === undefined ? undefined : indexOf.get(key);
    const row = at === undefined ? undefined : rows[at];
    if (!row || at === undefined) return;
    const go = (index: number) => {
      const target = rows[Math.max(0, Math.min(rows.length - 1, index))];
      if (target) moveFocus(target.key, Math.max(0, Math.min(rows.length - 1, index)));
    };
    const handled = () => {
      event.preventDefault();
      event.stopPropagation();
    };
    if ((event.key === "F10" && event.shiftKey) || event.key === "ContextMenu") {
      handled();
      openMenu(row.key, 0, 0);
      return;
    }
    switch (event.key) {
      case "ArrowDown":
        handled();
        go(at + 1);
        break;
      case "ArrowUp":
        handled();
        go(at - 1);
        break;
      case "Home":
        handled();
        go(0);
        break;
      case "End":
        handled();
        go(rows.length - 1);
        break;
      case "ArrowRight":
        handled();
        if (row.expandable && !row.expanded) toggle(row.key);
        else if (row.expanded && rows[at + 1]?.parentKey === row.key) go(at + 1);
        break;
      case "ArrowLeft":
        handled();
        if (row.expanded) toggle(row.key);
        else if (row.parentKey !== null) go(indexOf.get(row.parentKey) ?? at);
        break;
      case "Enter":
        handled();
        activate(row.key);
        break;
      default:
        break;
    }
  };

  // The menu's row as it is now; a row that is gone (its resource destroyed, its branch
  // closed by a change elsewhere) takes its menu with it.
  const menuIndex = menu === null ? undefined : indexOf.get(menu.key);
  const menuRow = menuIndex === undefined ? undefined : rows[menuIndex];
  if (menu !== null && menuRow === undefined) setMenu(null);

  // Whichever row takes focus (a click, a script) becomes the tab stop, so it is the row
  // kept in the DOM while it scrolls out of view.
  const onFocus = (event: FocusEvent<HTMLDivElement>) => {
    const key = (event.target as HTMLElement).closest<HTMLElement>('[role="treeitem"]')?.dataset
      .key;
    if (key !== undefined && indexOf.has(key)) setFocusKey(key);
  };

  let status: string | null = null;
  if (filtering && searching && rows.length === 0) status = "Searching instances…";
  else if (filtering && rows.length === 0) status = `Nothing is named like “${filterText.trim()}”.`;
  else if (capped && !searching) {
    status = `More than ${SEARCH_SHOWN} instances match: refine the filter to see them all.`;
  }

  return (
    <nav aria-label="Resource tree" className="ce-tree">
      <div className="ce-tree__filter">
        <SearchInput
          aria-label="Filter by name"
          placeholder="Filter by name"
          value={filterText}
          onChange={(_event, value) => changeFilter(value)}
          onClear={() => changeFilter("")}
        />
      </div>
      <div className="ce-tree__status" aria-live="polite">
        {status}
        {filtering && search.error !== null && (
          <Alert isInline isPlain variant="danger" title={messageOf(search.error)} />
        )}
      </div>
      {tree.isPending && <Spinner size="lg" aria-label="Loading the resource tree" />}
      {tree.isError && <Alert isInline variant="danger" title={messageOf(tree.error)} />}
      <div ref={scroller} className="ce-tree__scroller">
        <div
          role="tree"
          aria-label="Resource tree"
          className="ce-tree__rows"
          style={{ height: virtualizer.getTotalSize() }}
          onKeyDown={onKeyDown}
          onFocus={onFocus}
        >
          {virtualizer.getVirtualItems().map((item) => {
            const row = rows[item.index];
            if (!row) return null;
            const resource = row.resource;
            return (
              <TreeRow
                key={row.key}
                rowKey={row.key}
                kind={resource.kind}
                name={row.name}
                level={row.level}
                position={row.position}
                siblings={row.siblings}
                expandable={row.expandable}
                expanded={row.expanded}
                loading={row.loading}
                selected={row.key === selectedKey}
                tabbable={row.key === tabbableKey}
                state={stateOf(resource)}
                container={
                  resource.kind === "instance" && isContainer(resource.value)
                    ? typeTitle(resource.value.type)
                    : ""
                }
                stateMessage={resource.kind === "instance" ? resource.value.state_message : ""}
                serving={resource.kind === "node" && resource.value.id === serving.data}
                offset={item.start}
                height={ROW_HEIGHT}
                onToggle={toggle}
                onActivate={activate}
                onMenu={openMenu}
              />
            );
          })}
        </div>
      </div>
      {menu && menuRow && (
        <TreeContextMenu
          resource={menuRow.resource}
          x={menu.x}
          y={menu.y}
          onClose={closeMenu}
        />
      )}
    </nav>
  );
}
