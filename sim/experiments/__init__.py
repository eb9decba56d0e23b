"""Many ensembles: sweep designs and backends, metrics, sensitivity, scenario discovery, EMA Workbench."""
