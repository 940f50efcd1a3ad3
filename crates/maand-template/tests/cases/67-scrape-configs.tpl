scrape_configs:
{{ scrapeConfigs }}