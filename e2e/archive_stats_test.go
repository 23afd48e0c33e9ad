package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestArchiveStatisticsOverGateway checks, across the real processes, that
// the archive's statistics and search follow a dispute through routing
// from the counters and indexes its consumer keeps, and count for each
// department only what it may read.
func TestArchiveStatisticsOverGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end suite runs in make test, not in -short")
	}
	p := startPlatform(t)
	taxClerk := p.token("tax", "wang", "clerk", "handler")
	finance := p.token("finance", "zhao", "handler")
	justice := p.token("justice", "sun", "handler")

	code, resp := p.httpJSON("POST", "/v1/regions/"+region+"/disputes", taxClerk, registration("stats-1", "13812340071"))
	if code != http.StatusOK {
		t.Fatalf("register: HTTP %d %v", code, resp)
	}
	name := resp["dispute"].(map[string]any)["name"].(string)
	eventually(t, "routing tracks "+name, 10*time.Second, func() error {
		if code, resp := p.httpJSON("GET", "/v1/"+name+"/tracking", taxClerk, nil); code != http.StatusOK {
			return fmt.Errorf("HTTP %d %v", code, resp)
		}
		return nil
	})
	if code, resp := p.httpJSON("POST", "/v1/"+name+":route", taxClerk, map[string]any{
		"kind": "ROUTE_KIND_TRANSFER", "targetDepartment": "finance", "opinion": "请协助办理"}); code != http.StatusOK {
		t.Fatalf("route: HTTP %d %v", code, resp)
	}
	if code, resp := p.httpJSON("POST", "/v1/"+name+":return", finance, map[string]any{"reason": "不属于本部门职责"}); code != http.StatusOK {
		t.Fatalf("return: HTTP %d %v", code, resp)
	}

	// total reads the region-wide total and the returned count from the rows.
	total := func(resp map[string]any) (registered, returned string) {
		rows, _ := resp["rows"].([]any)
		for _, r := range rows {
			row := r.(map[string]any)
			if row["dimension"] == "total" {
				registered, returned = fmt.Sprint(row["registered"]), fmt.Sprint(row["returned"])
			}
		}
		return registered, returned
	}
	eventually(t, "tax's statistics count the returned transfer", 15*time.Second, func() error {
		code, resp := p.httpJSON("GET", "/v1/regions/"+region+"/statistics", taxClerk, nil)
		if code != http.StatusOK {
			return fmt.Errorf("HTTP %d %v", code, resp)
		}
		if reg, ret := total(resp); reg != "1" || ret != "1" || fmt.Sprint(resp["total"]) != "1" {
			return fmt.Errorf("registered %s, returned %s: %v", reg, ret, resp)
		}
		return nil
	})
	code, resp = p.httpJSON("GET", "/v1/regions/"+region+"/dossiers?registeringDepartment=tax&state=DISPUTE_STATE_REGISTERED", taxClerk, nil)
	ds, _ := resp["dossiers"].([]any)
	if code != http.StatusOK || len(ds) != 1 || ds[0].(map[string]any)["name"] != name {
		t.Errorf("tax's search: HTTP %d %v", code, resp)
	}
	// A department that never held it counts nothing and finds nothing:
	// justice, and finance, which returned the transfer without receiving
	// it and reads the dispute no more.
	for who, tok := range map[string]string{"justice": justice, "finance": finance} {
		code, resp = p.httpJSON("GET", "/v1/regions/"+region+"/statistics", tok, nil)
		if reg, _ := total(resp); code != http.StatusOK || reg == "1" || resp["total"] != nil {
			t.Errorf("%s's statistics: HTTP %d %v", who, code, resp)
		}
		code, resp = p.httpJSON("GET", "/v1/regions/"+region+"/dossiers?registeringDepartment=tax", tok, nil)
		if ds, _ := resp["dossiers"].([]any); code != http.StatusOK || len(ds) != 0 {
			t.Errorf("%s's search: HTTP %d %v", who, code, resp)
		}
	}
}
