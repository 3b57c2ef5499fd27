// What other workspaces reuse (e2e/): the dashboards and their queries as Grafana would run them.
export * from './dashboard.loader';
export * from './grafana-variables';
