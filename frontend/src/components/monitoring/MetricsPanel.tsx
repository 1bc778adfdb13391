/**
 * A node's or an instance's charts under one range picker (1h, 4h, 1d, 7d, 30d, 1y): the
 * series named in `names`, in that order, each a MetricsChart in a card. The range is the
 * page's own view state; the series are query data, polled as the range's step passes.
 */
import {
  Alert,
  Card,
  CardBody,
  CardHeader,
  CardTitle,
  Content,
  Gallery,
  Spinner,
  ToggleGroup,
  ToggleGroupItem,
} from "@patternfly/react-core";
import { useState } from "react";

import { messageOf } from "../../api/errors";
import { type MetricsInterval, type MetricsOwner, useMetricSeries } from "../../api/queries";
import { MetricsChart } from "./MetricsChart";
import { INTERVALS, lookOf } from "./series";

export function RangePicker({
  value,
  onChange,
}: {
  value: MetricsInterval;
  onChange: (value: MetricsInterval) => void;
}) {
  return (
    <ToggleGroup isCompact aria-label="Range">
      {INTERVALS.map((interval) => (
        <ToggleGroupItem
          key={interval.value}
          text={interval.label}
          aria-label={interval.spoken}
          buttonId={`range-${interval.value}`}
          isSelected={value === interval.value}
          onChange={() => onChange(interval.value)}
        />
      ))}
    </ToggleGroup>
  );
}

interface Props {
  owner: MetricsOwner;
  /** The series to chart, by the API's names (`cpu`, `memory`, ...), in this order. */
  names: string[];
  title?: string;
}

export function MetricsPanel({ owner, names, title = "Monitoring" }: Props) {
  const [interval, setRange] = useState<MetricsInterval>("1h");
  const query = useMetricSeries(owner, interval);
  const byName = new Map((query.data ?? []).map((series) => [series.name, series]));
  return (
    <Card>
      <CardHeader
        actions={{
          actions: <RangePicker value={interval} onChange={setRange} />,
          hasNoOffset: true,
        }}
      >
        <CardTitle>
          {title}
          {query.isFetching && query.isPlaceholderData ? (
            <Spinner size="md" aria-label="Loading the range" className="pf-v6-u-ml-sm" />
          ) : null}
        </CardTitle>
      </CardHeader>
      <CardBody>
        {query.error && !query.data ? (
          <Alert variant="danger" isInline isPlain title="Can't read the metrics">
            {messageOf(query.error)}
          </Alert>
        ) : !query.data ? (
          <Spinner size="lg" aria-label="Loading metrics" />
        ) : (
          <Gallery hasGutter minWidths={{ default: "100%", xl: "calc(50% - var(--pf-t--global--spacer--md))" }}>
            {names.map((name) => {
              const series = byName.get(name);
              return series ? (
                <MetricsChart key={name} series={series} />
              ) : (
                <figure key={name} className="ce-metrics-chart" aria-label={lookOf(name).title}>
                  <Content component="h3">{lookOf(name).title}</Content>
                  <div className="ce-metrics-empty">
                    <Content component="p">This series is not recorded here.</Content>
                  </div>
                </figure>
              );
            })}
          </Gallery>
        )}
      </CardBody>
    </Card>
  );
}
