/**
 * A world map drawn from the bundled Natural Earth countries (world-atlas, 1:110m), in the
 * plain equirectangular projection: x = lon + 180, y = 90 − lat in a 360 × 180 viewBox, so a
 * click converts back to latitude/longitude exactly, at any size. No tiles, no network: the
 * product runs air-gapped. With `onPick` the map is the datacenter's location picker (the
 * seed: "click directly on the desired point on the map"), also driven by the arrow keys.
 */
import { Bullseye, Spinner } from "@patternfly/react-core";
import { useQuery } from "@tanstack/react-query";
import type { KeyboardEvent, MouseEvent } from "react";
import { feature } from "topojson-client";
import type { GeometryCollection, Topology } from "topojson-specification";

import { keys, type Location } from "../../api/queries";
import "./WorldMap.css";

const WIDTH = 360;
const HEIGHT = 180;

type Ring = number[][];

/** Rings as one SVG path; a ring that jumps across the antimeridian starts a new subpath. */
function pathOf(rings: Ring[]): string {
  const parts: string[] = [];
  for (const ring of rings) {
    let previous: number | null = null;
    ring.forEach((point, index) => {
      const [lon = 0, lat = 0] = point;
      const jump = previous !== null && Math.abs(lon - previous) > 180;
      parts.push(
        `${index === 0 || jump ? "M" : "L"}${(lon + 180).toFixed(2)},${(90 - lat).toFixed(2)}`,
      );
      previous = lon;
    });
    parts.push("Z");
  }
  return parts.join("");
}

/** The countries as one path (fill, and a stroke that draws coasts and borders), built
 * once from the bundled TopoJSON. */
async function loadShapes(): Promise<string> {
  // A chunk of its own: only pages that show a map download the 100 kB of coastlines.
  const atlas = (await import("world-atlas/countries-110m.json")).default as unknown as Topology<{
    countries: GeometryCollection;
  }>;
  const countries = feature(atlas, atlas.objects.countries);
  const rings: Ring[] = [];
  for (const country of countries.features) {
    const geometry = country.geometry;
    if (geometry.type === "Polygon") rings.push(...geometry.coordinates);
    else if (geometry.type === "MultiPolygon")
      for (const polygon of geometry.coordinates) rings.push(...polygon);
  }
  return pathOf(rings);
}

function useShapes() {
  return useQuery({
    queryKey: keys.worldMap,
    queryFn: loadShapes,
    staleTime: Infinity,
    gcTime: Infinity,
  });
}

/** Four decimals: about 11 m, finer than a click can aim. */
function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

/** The location under a point of the SVG, in the map's own coordinates. */
export function locationAt(x: number, y: number): Location {
  return {
    latitude: round(clamp(90 - (y / HEIGHT) * 180, -90, 90)),
    longitude: round(clamp((x / WIDTH) * 360 - 180, -180, 180)),
  };
}

interface Props {
  /** The marked point; none when null. */
  location: Location | null;
  /** Makes the map a picker: called with the clicked (or key-moved) location. */
  onPick?: (location: Location) => void;
  /** The map's accessible name. */
  label: string;
}

export function WorldMap({ location, onPick, label }: Props) {
  const shapes = useShapes();

  const pick = (event: MouseEvent<SVGSVGElement>) => {
    if (!onPick) return;
    const svg = event.currentTarget;
    const matrix = svg.getScreenCTM();
    if (!matrix) return;
    // The inverse of the SVG's screen transform maps the click into viewBox units, whatever
    // the rendered size or letterboxing.
    const point = new DOMPoint(event.clientX, event.clientY).matrixTransform(matrix.inverse());
    onPick(locationAt(point.x, point.y));
  };

  const nudge = (event: KeyboardEvent<SVGSVGElement>) => {
    if (!onPick) return;
    const step = event.shiftKey ? 10 : 1;
    const from = location ?? { latitude: 0, longitude: 0 };
    const moves: Record<string, [number, number]> = {
      ArrowUp: [step, 0],
      ArrowDown: [-step, 0],
      ArrowLeft: [0, -step],
      ArrowRight: [0, step],
    };
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    onPick({
      latitude: round(clamp(from.latitude + move[0], -90, 90)),
      longitude: round(clamp(from.longitude + move[1], -180, 180)),
    });
  };

  if (!shapes.data) {
    return (
      <Bullseye className="ce-world-map ce-world-map--loading">
        <Spinner size="lg" aria-label="Loading the map" />
      </Bullseye>
    );
  }
  const x = location ? location.longitude + 180 : 0;
  const y = location ? 90 - location.latitude : 0;
  const interactive = onPick !== undefined;
  return (
    <svg
      className={`ce-world-map${interactive ? " ce-world-map--picker" : ""}`}
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      role={interactive ? "application" : "img"}
      aria-label={label}
      aria-roledescription={interactive ? "map" : undefined}
      tabIndex={interactive ? 0 : undefined}
      onClick={interactive ? pick : undefined}
      onKeyDown={interactive ? nudge : undefined}
    >
      <rect className="ce-world-map__sea" width={WIDTH} height={HEIGHT} />
      <path className="ce-world-map__graticule" d={graticule} />
      <path className="ce-world-map__land" d={shapes.data} />
      {location && (
        <g className="ce-world-map__marker" data-testid="map-marker">
          <line x1={x - 6} y1={y} x2={x + 6} y2={y} />
          <line x1={x} y1={y - 6} x2={x} y2={y + 6} />
          <circle cx={x} cy={y} r={2.5} />
        </g>
      )}
    </svg>
  );
}

/** Meridians and parallels every 30°, the map's faint grid. */
const graticule = (() => {
  const lines: string[] = [];
  for (let lon = 30; lon < 360; lon += 30) lines.push(`M${lon},0V${HEIGHT}`);
  for (let lat = 30; lat < 180; lat += 30) lines.push(`M0,${lat}H${WIDTH}`);
  return lines.join("");
})();
