package connectors_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/tetherkit/tether/connectors"
)

// A connector that posts a CRM's deal.updated events to a chat channel,
// served as a webhook endpoint and sent one signed delivery.
func Example() {
	// The chat vendor; in a test the tether sandbox plays it.
	chatAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Printf("chat: %s %s %s (correlation %s)\n", r.Method, r.URL.Path, body, r.Header.Get("X-Correlation-ID"))
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	}))
	defer chatAPI.Close()

	// The connector: decode the event, post to the chat vendor.
	dealNotify := connectors.ConnectorFunc(func(ctx context.Context, env *connectors.Env, ev connectors.Event) error {
		var deal struct {
			Deal struct{ Name, Stage string }
		}
		if err := json.Unmarshal(ev.Body, &deal); err != nil {
			return connectors.Permanent(fmt.Errorf("decode %s: %w", ev.Type, err))
		}
		chat := env.Vendor("chat")
		msg := fmt.Sprintf(`{"channel":%q,"text":"%s is now %s"}`, env.Config["channel"], deal.Deal.Name, deal.Deal.Stage)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, chat.BaseURL+"/messages", strings.NewReader(msg))
		if err != nil {
			return connectors.Permanent(err)
		}
		resp, err := chat.Client.Do(req) // sends the event's correlation ID
		if err != nil {
			return err // retryable: the network may recover
		}
		defer resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return errors.New("chat answered " + resp.Status)
		}
		env.Logger.InfoContext(ctx, "posted", "deal", deal.Deal.Name)
		return nil
	})

	// Its environment and webhook endpoint, checking the CRM's signature.
	env := connectors.NewEnv(nil, connectors.NewVendor("chat", chatAPI.URL, nil))
	env.Config["channel"] = "#sales"
	endpoint := httptest.NewServer(connectors.NewWebhookHandler(dealNotify, env,
		connectors.WithName("dealnotify"),
		connectors.WithVerifier(connectors.VerifyHex("X-Crm-Signature", "sha256=", "crm-secret"))))
	defer endpoint.Close()

	// One event, signed as the CRM signs, delivered twice: the second
	// delivery is a duplicate, answered without running the connector.
	body := `{"id":"evt_1","type":"deal.updated","deal":{"name":"Acme renewal","stage":"won"}}`
	mac := hmac.New(sha256.New, []byte("crm-secret"))
	mac.Write([]byte(body))
	for range 2 {
		req, _ := http.NewRequest(http.MethodPost, endpoint.URL+"/events", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Crm-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		req.Header.Set("X-Correlation-ID", "corr-1")
		req.Header.Set("X-Tenant-ID", "acme")
		resp, err := endpoint.Client().Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%d %s", resp.StatusCode, answer)
	}
	m := env.Metrics.Snapshot()[0]
	fmt.Printf("%s/%s: handled %d, duplicates %d\n", m.Connector, m.Tenant, m.Handled, m.Duplicates)

	// Output:
	// chat: POST /messages {"channel":"#sales","text":"Acme renewal is now won"} (correlation corr-1)
	// 200 {"outcome":"handled","event_id":"evt_1","correlation_id":"corr-1"}
	// 200 {"outcome":"duplicate","event_id":"evt_1","correlation_id":"corr-1"}
	// dealnotify/acme: handled 1, duplicates 1
}

// A vendor whose API takes OAuth2 tokens of the client-credentials grant.
// The vendor revokes the first token early; the client gets a new one and
// sends the call again, once.
func ExampleNewTokenSource() {
	issued := 0
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		issued++
		fmt.Printf("token endpoint: grant_type=%s\n", r.PostFormValue("grant_type"))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"Bearer","expires_in":3600}`, issued)
	}))
	defer auth.Close()
	crmAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("crm: %s %s with %s\n", r.Method, r.URL.Path, r.Header.Get("Authorization"))
		if r.Header.Get("Authorization") == "Bearer tok-1" {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="revoked"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.WriteString(w, `{"id":42}`)
	}))
	defer crmAPI.Close()

	ts := connectors.NewTokenSource(connectors.ClientCredentials(clientcredentials.Config{
		ClientID:     "connector",
		ClientSecret: "from Env.Secrets",
		TokenURL:     auth.URL + "/oauth/token",
		AuthStyle:    oauth2.AuthStyleInHeader,
	}))
	crm := connectors.NewVendor("crm", crmAPI.URL, ts.Transport(nil))

	resp, err := crm.Client.Get(crm.BaseURL + "/deals/42")
	if err != nil {
		fmt.Println(err, "permanent:", connectors.IsPermanent(err))
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Printf("%s %s\n", resp.Status, body)

	// Output:
	// token endpoint: grant_type=client_credentials
	// crm: GET /deals/42 with Bearer tok-1
	// token endpoint: grant_type=client_credentials
	// crm: GET /deals/42 with Bearer tok-2
	// 200 OK {"id":42}
}
