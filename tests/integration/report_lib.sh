# SPDX-License-Identifier: MIT
# Helpers for checking a run's HTML report against its results JSON; source
# after lib.sh. The report is XHTML-compatible HTML5, so xmllint reads it
# as XML (XPath below); libxml2's HTML parser is HTML 4 and calls every
# HTML5 and SVG element "invalid", which is all it may say about it.

# html_of DIR: the run's report (DIR holds one run).
html_of() {
    ls "$1"/report_*.html 2>/dev/null | head -n 1
}

# hx HTML XPATH: the XPath's value in the report.
hx() {
    xmllint --xpath "$2" "$1" 2>/dev/null
}

# html_parses NAME HTML: well-formed XML, and parsed by xmllint --html with
# no complaint other than the HTML5/SVG element names it does not know.
html_parses() {
    local other
    check "$1: HTML report is well-formed (xmllint --noout)" \
        xmllint --noout "$2"
    xmllint --html --noout "$2" >"$T_TMP/html4.err" 2>&1
    check_eq "$1: xmllint --html parses the report" 0 "$?"
    other=$(grep 'parser error' "$T_TMP/html4.err" |
        grep -vc 'Tag [a-z]* invalid')
    check_eq "$1: xmllint --html: no error but unknown HTML5/SVG tags" 0 "$other"
}

# sect_cell HTML H3 ROW COL: cell COL of data row ROW of the first table
# after the section heading H3.
sect_cell() {
    hx "$1" "string((//h3[.=\"$2\"]/following-sibling::table[1]//tr[td])[$3]/td[$4])"
}

# sect_row HTML H3 LABEL: column 2 of the row whose first cell is LABEL
# in the first table after H3, thousands separators removed.
sect_row() {
    hx "$1" "string(//h3[.=\"$2\"]/following-sibling::table[1]//tr[td[1]=\"$3\"]/td[2])" | tr -d ,
}
