#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The HTML report of a short run against katosim (2 local agents, 5 %
# injected HTTP 500s): one file with the run's time stamp, well-formed
# (xmllint --noout: the report is XHTML-compatible HTML5, so it is checked
# as XML), self-contained (no script, no fetched resource, no URL but the
# target's), with every section, five SVG charts with lines, and figures
# equal to the JSON's. Then headless Chromium renders it: the screenshot
# must show the charts' line colours, which a blank page does not have.
# Chromium is not a dependency: when it is absent that check says so.
. "$(dirname "$0")/lib.sh"

katosim_start --latency-ms 2 --error-rate 0.05 --seed 3
cat >"$T_TMP/c.yaml" <<YAML
test_scenarios:
  concurrent:
    concurrent_users: 6
    duration_seconds: 3
    requests_per_user_per_second: 20
    think_time_ms: 5
performance_thresholds:
  response_time_p99_max: 2000
  max_error_rate: 0.5
YAML
out=$T_TMP/out
"$KS_OUT/stress-master" --config "$T_TMP/c.yaml" --test concurrent \
    --url "$KATO_URL" --local-agents 2 --threads 1 --output "$out" \
    >"$T_TMP/stdout" 2>"$T_TMP/stderr"
check_eq "master exits 0 (errors below the 50 % limit)" 0 "$?"

json=$(ls "$out"/stress_test_results_*.json 2>/dev/null | head -n 1)
stamp=$(basename "$json" .json | sed 's/^stress_test_results_//')
html=$out/report_$stamp.html
check "report_$stamp.html exists with the JSON's time stamp" test -s "$html"
check_eq "exactly one HTML report" 1 "$(ls "$out"/*.html 2>/dev/null | wc -l)"

xmllint --noout "$html" 2>"$T_TMP/xmllint.err"
check_eq "xmllint --noout: well-formed, no error" "0:" \
    "$?:$(head -c 300 "$T_TMP/xmllint.err")"
x() { xmllint --xpath "$1" "$html" 2>/dev/null; }

urls=$(grep -oE 'https?://[^"<> ]*' "$html" | sort -u | tr '\n' ' ')
check_eq "the only URL in the file is the target's" "$KATO_URL " "$urls"
check_eq "no script, no src/href, no CSS url() or @import" 0 \
    "$(grep -ciE '<script|src=|href=|url\(|@import' "$html")"

for h in Summary Thresholds Throughput "Latency over time" \
    "Percentile spectrum" Operations "Errors by class" Agents Resources; do
    check_eq "section \"$h\"" 1 "$(x "count(//h3[.=\"$h\"])")"
done
check_eq "five SVG charts (with agent CPU and target memory)" 5 "$(x 'count(//svg)')"
check_eq "every chart has drawn lines (path with data)" 5 \
    "$(x 'count(//svg[.//path[contains(@d,"L")]])')"
check_eq "every chart has axis titles with units" 5 \
    "$(x 'count(//svg[count(.//text[@class="axt" and contains(.,"(")]) = 2])')"
check_eq "no chart says \"no data\"" 0 "$(x 'count(//text[@class="nodata"])')"
check "seconds with errors are shaded in the throughput chart" \
    test "$(x 'count(//rect[@class="errband"])')" -ge 1

R='.concurrent_requests.results'
j() { jq -r "$1" "$json"; }
total=$(j "$R.total_requests")
check "some load was generated ($total)" test "${total:-0}" -gt 100
check_eq "summary: total requests = JSON's (thousands separated)" \
    "$(echo "$total" | sed -e ':a' -e 's/\B[0-9]\{3\}\>/,&/' -e 'ta')" \
    "$(x 'string(//div[@class="card"][div[@class="k"]="total requests"]/div[2])')"
p99_html=$(x 'string(//div[@class="card"][div[@class="k"]="p99"]/div[2])')
check "summary: p99 = JSON's $(j "$R.response_time_p99") ms ($p99_html)" \
    awk -v a="$(j "$R.response_time_p99")" -v b="${p99_html% ms}" \
    'BEGIN { d = a - b; exit !(b != "" && d < 0.006 && d > -0.006) }'
check_eq "thresholds: three checks, all pass" "3 3" \
    "$(x 'count(//h3[.="Thresholds"]/following-sibling::table[1]//tr[td])') $(x 'count(//h3[.="Thresholds"]/following-sibling::table[1]//td[contains(@class,"pass")])')"
check_eq "operations: one row per operation in the JSON" \
    "$(j "$R.operation_stats | length")" \
    "$(x 'count(//h3[.="Operations"]/following-sibling::table[1]//tr[td])')"
check_eq "errors: the http_500 row = JSON's count" "$(j "$R.errors.http_500")" \
    "$(x 'string(//h3[.="Errors by class"]/following-sibling::table[1]//tr[td[1]="http_500"]/td[2])' | tr -d ,)"
check_eq "agents: two rows, local-1 and local-2" "local-1 local-2" \
    "$(x '//h3[.="Agents"]/following-sibling::table[1]//tr/td[1]/text()' | sort | tr '\n' ' ' | sed 's/ $//')"
check_eq "resources: one CPU line per agent" 2 \
    "$(x 'count(//svg[title="Agent CPU over time"]//path)')"
check_eq "resources: the target's memory (katosim's /metrics)" 1 \
    "$(x 'count(//svg[title="Target memory over time"]//path)')"

# --- headless Chromium -------------------------------------------------------
chrome=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chrome" ]; then
    ok "chromium not installed; screenshot check not run"
    t_done
fi
shot() { # html png
    timeout 60 "$chrome" --headless --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync \
        --user-data-dir="$(mktemp -d "$T_TMP/chrome.XXXXXX")" \
        --screenshot="$2" --window-size=1280,2400 "file://$1" \
        >>"$T_TMP/chrome.log" 2>&1
}
printf '<!DOCTYPE html>\n<html><body></body></html>\n' >"$T_TMP/blank.html"
shot "$html" "$T_TMP/report.png"
check "chromium renders the report to a PNG" test -s "$T_TMP/report.png"
shot "$T_TMP/blank.html" "$T_TMP/blank.png"
# distinct colours, then pixels of the chart blue (p50, requests/s) and red
# (p99, errors) exactly as the CSS gives them.
read -r w h colours <<<"$(python3 "$KS_SOURCE_DIR/tests/support/png_stats.py" "$T_TMP/report.png" | head -n 1)"
stats=$(python3 "$KS_SOURCE_DIR/tests/support/png_stats.py" "$T_TMP/report.png" 0969da cf222e | tail -n 2 | tr '\n' ' ')
read -r _ _ blank_colours <<<"$(python3 "$KS_SOURCE_DIR/tests/support/png_stats.py" "$T_TMP/blank.png")"
check_eq "screenshot is 1280x2400" "1280x2400" "${w}x${h}"
check "a blank page renders in at most 2 colours (${blank_colours:-?})" \
    test "${blank_colours:-99}" -le 2
check "the report renders in many colours (${colours:-?} > 100)" \
    test "${colours:-0}" -gt 100
read -r blue red <<<"$stats"
check "the charts' blue lines are on screen (${blue:-?} px > 500)" \
    test "${blue:-0}" -gt 500
check "the red lines and error marks are on screen (${red:-?} px > 100)" \
    test "${red:-0}" -gt 100
t_done
