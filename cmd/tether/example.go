package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/tetherkit/tether/contracts"
)

// exampleOutput is what `contract example --format json` prints.
type exampleOutput struct {
	Request   exampleMessage   `json:"request"`
	Responses []exampleMessage `json:"responses"`
}

// exampleMessage is one request or response, with its body as text: JSON
// bodies are embedded as JSON.
type exampleMessage struct {
	Operation string              `json:"operation,omitempty"`
	Method    string              `json:"method,omitempty"`
	Target    string              `json:"target,omitempty"`
	Status    int                 `json:"status,omitempty"`
	Default   bool                `json:"default,omitempty"`
	Header    map[string][]string `json:"header,omitempty"`
	Body      json.RawMessage     `json:"body,omitempty"`
	Source    string              `json:"source"`
	Warnings  []contracts.Finding `json:"warnings,omitempty"`
}

func bodyJSON(contentType string, body []byte) json.RawMessage {
	if len(body) == 0 {
		return nil
	}
	if strings.Contains(contentType, "json") && json.Valid(body) {
		return body
	}
	quoted, _ := json.Marshal(string(body))
	return quoted
}

func runContractExample(env *environ, args []string) int {
	fs := newFlags("example", env, contractHelp)
	opID := fs.String("operation", "", "the operationId (or \"METHOD /path\" where the contract gives none)")
	seed := fs.Uint64("seed", 1, "the seed for synthesised values; the same seed gives the same example")
	format := fs.String("format", "text", "output format: text or json")
	remote := fs.Bool("remote-refs", false, "allow $refs to http(s) URLs")
	refRoot := fs.String("ref-root", "", "a folder $refs may reach files under")
	files, code, ok := parseFlags(fs, env, contractHelp, args)
	if !ok {
		return code
	}
	if len(files) != 1 {
		return fail(env, usageError{"contract example needs exactly one FILE"})
	}
	if *format != "text" && *format != "json" {
		return fail(env, usageError{fmt.Sprintf("--format %q: use text or json", *format)})
	}
	opts := refOptions(*refRoot)
	if *remote {
		opts = append(opts, contracts.AllowRemoteRefs())
	}
	c, err := contracts.Load(files[0], opts...)
	if err != nil {
		return fail(env, err)
	}
	if *opID == "" {
		return fail(env, usageError{"contract example needs --operation; " + operationList(c)})
	}
	if _, found := c.Operation(*opID); !found {
		return fail(env, fmt.Errorf("%s has no operation %q; %s", files[0], *opID, operationList(c)))
	}
	req, err := c.ExampleRequest(*opID, *seed)
	if err != nil {
		return fail(env, err)
	}
	resps, err := c.ExampleResponses(*opID, *seed)
	if err != nil {
		return fail(env, err)
	}
	if *format == "json" {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		out := exampleOutput{Request: exampleMessage{Operation: req.Operation, Method: req.Method, Target: req.Target,
			Header: req.Header, Body: bodyJSON(req.ContentType, req.Body), Source: req.Source, Warnings: req.Warnings}}
		for _, r := range resps {
			out.Responses = append(out.Responses, exampleMessage{Status: r.Status, Default: r.Default, Header: r.Header,
				Body: bodyJSON(r.ContentType, r.Body), Source: r.Source, Warnings: r.Warnings})
		}
		if err := enc.Encode(out); err != nil {
			return fail(env, err)
		}
		return exitOK
	}
	base := ""
	if ss := c.Servers(); len(ss) > 0 {
		base = strings.TrimRight(ss[0].Resolved, "/")
	}
	fmt.Fprintf(env.stdout, "# request (%s)\n%s %s%s\n", req.Source, req.Method, base, req.Target)
	printHeaders(env, req.Header)
	if len(req.Body) > 0 {
		fmt.Fprintf(env.stdout, "\n%s\n", req.Body)
	}
	for _, r := range resps {
		label := fmt.Sprint(r.Status)
		if r.Default {
			label = "default (shown as 500)"
		}
		fmt.Fprintf(env.stdout, "\n# response %s (%s)\n", label, r.Source)
		printHeaders(env, r.Header)
		if len(r.Body) > 0 {
			fmt.Fprintf(env.stdout, "\n%s\n", r.Body)
		}
	}
	for _, w := range req.Warnings {
		fmt.Fprintln(env.stderr, w.String())
	}
	for _, r := range resps {
		for _, w := range r.Warnings {
			fmt.Fprintln(env.stderr, w.String())
		}
	}
	return exitOK
}

func printHeaders(env *environ, h map[string][]string) {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			fmt.Fprintf(env.stdout, "%s: %s\n", k, v)
		}
	}
}

func operationList(c *contracts.Contract) string {
	ops := c.Operations()
	names := make([]string, 0, min(len(ops), 10))
	for i, op := range ops {
		if i == 10 {
			names = append(names, fmt.Sprintf("and %d more", len(ops)-10))
			break
		}
		names = append(names, op.ID)
	}
	return "it has " + strings.Join(names, ", ")
}
