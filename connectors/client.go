package connectors

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// ReadMetrics reads what a running connector's SDK counted, from the JSON
// it serves at [MetricsPath] under baseURL. It returns nil when the
// connector does not answer within a few seconds or serves no metrics.
func ReadMetrics(ctx context.Context, baseURL string) []MetricsRow {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+MetricsPath, nil)
	if err != nil {
		return nil
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var rows []MetricsRow
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&rows) != nil {
		return nil
	}
	return rows
}
