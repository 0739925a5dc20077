package seats

import (
	"fmt"
	"os"
	"path/filepath"

	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	ut "github.com/license-operator/license-operator/internal/util/testing"
)

// argoHealthFor is the Argo CD health that docs/health.md promises for each
// kstatus result: the Lua check of config/argocd and kstatus read the same
// conditions the same way.
var argoHealthFor = map[status.Status]string{
	status.CurrentStatus:    "Healthy",
	status.FailedStatus:     "Degraded",
	status.InProgressStatus: "Progressing",
}

// argoHealth runs config/argocd/health.lua on obj the way Argo CD runs a
// resource health customization (gopher-lua, the interpreter Argo CD
// embeds): the object as the global obj, the script's returned table read
// for status and message.
func argoHealth(obj *unstructured.Unstructured) (healthStatus, message string, err error) {
	script, err := os.ReadFile(filepath.Join(ut.RepoRoot(), "config", "argocd", "health.lua"))
	if err != nil {
		return "", "", err
	}
	L := lua.NewState(lua.Options{SkipOpenLibs: false})
	defer L.Close()
	L.SetGlobal("obj", luaValue(L, obj.Object))
	if err := L.DoString(string(script)); err != nil {
		return "", "", err
	}
	hs, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		return "", "", fmt.Errorf("health.lua returned %s, not a table", L.Get(-1).Type())
	}
	return hs.RawGetString("status").String(), hs.RawGetString("message").String(), nil
}

// luaValue converts a decoded JSON value to Lua as Argo CD does: objects and
// arrays become tables (arrays 1-based), numbers LNumber.
func luaValue(L *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(v)
	case string:
		return lua.LString(v)
	case int64:
		return lua.LNumber(v)
	case int:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	case []any:
		t := L.NewTable()
		for _, e := range v {
			t.Append(luaValue(L, e))
		}
		return t
	case map[string]any:
		t := L.NewTable()
		for k, e := range v {
			t.RawSetString(k, luaValue(L, e))
		}
		return t
	default:
		return lua.LString(fmt.Sprint(v))
	}
}
