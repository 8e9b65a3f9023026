#!/usr/bin/env bash
# Benchmark: the sync-coverage check (`ldap-sync`, as run for mfa.sync-items) against
# `ldapsearch` doing the same paged search, on one OpenLDAP server on loopback holding
# USERS users (default 100,000) in one sync group through 5 nested levels.
#
#   benches/ldap-sync.sh [USERS]
#
# The server is a private slapd (its own config folder under /tmp, a free port on
# 127.0.0.1, the memberof overlay), loaded with slapadd, started in the foreground as a
# child of this script and stopped by its PID on exit. The bind account is an ordinary
# entry, so the server's limits apply: any search returning more than 1,000 entries
# without paging is refused, which proves both clients really page (500 per page).
# Reports each client's wall time (best of 3 alternating runs) and peak RSS, and the
# ratio. Targets: check <= 1.2 x ldapsearch, check peak RSS < 50 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."

users=${1:-100000}
levels=5
runs=3
password='Bench-Reader.Passw0rd1'
base='dc=corp,dc=contoso,dc=com'
bind="cn=reader,$base"

if [[ ! -x /usr/sbin/slapd || ! -x /usr/bin/ldapsearch ]]; then
    echo "installing slapd and ldap-utils (service start suppressed)"
    made=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && made=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slapd ldap-utils >/dev/null
    ((made)) && rm -f /usr/sbin/policy-rc.d
fi

work=$(mktemp -d /tmp/mfa-ldap-bench.XXXXXX)
slapd_pid=
cleanup() {
    if [[ -n $slapd_pid ]]; then
        kill -TERM "$slapd_pid" 2>/dev/null || true
        wait "$slapd_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/db"
cat >"$work/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile $work/slapd.pid
argsfile $work/slapd.args
database mdb
suffix "$base"
rootdn "cn=admin,$base"
rootpw unused-$RANDOM$RANDOM
directory $work/db
maxsize 2147483648
index objectClass eq
index memberOf eq
index cn eq
access to * by * read
limits users size.soft=1000 size.hard=1000 size.pr=500 size.prtotal=unlimited
overlay memberof
CONF

echo "==> generating $users users in $levels nested groups"
t0=$(date +%s.%N)
python3 - "$users" "$levels" "$base" "$password" >"$work/data.ldif" <<'PY'
import sys
users, levels, base, pw = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
out = sys.stdout
out.write(f"dn: {base}\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\no: Contoso\ndc: corp\n\n")
out.write(f"dn: ou=Users,{base}\nobjectClass: organizationalUnit\nou: Users\n\n")
out.write(f"dn: cn=reader,{base}\nobjectClass: person\ncn: reader\nsn: reader\nuserPassword: {pw}\n\n")
groups = [f"cn=MFA Users{'' if i == 0 else f' L{i}'},ou=Users,{base}" for i in range(levels)]
per = users // levels
members = {g: [] for g in groups}
for i in range(users):
    level = min(i // per, levels - 1)
    g = groups[level]
    dn = f"uid=u{i:06d},ou=Users,{base}"
    members[g].append(dn)
    phone = ""
    if i % 10 == 3:
        phone = ""
    elif i % 2:
        phone = f"telephoneNumber: +1 555 {i % 10000:04d}\n"
    else:
        phone = f"mobile: +1 555 {i % 10000:04d}\n"
    out.write(f"dn: {dn}\nobjectClass: inetOrgPerson\nuid: u{i:06d}\ncn: User {i}\nsn: {i}\n{phone}memberOf: {g}\n\n")
for i, g in enumerate(groups):
    cn = g.split(",")[0][3:]
    out.write(f"dn: {g}\nobjectClass: groupOfNames\ncn: {cn}\n")
    if i + 1 < levels:
        out.write(f"member: {groups[i + 1]}\n")
    for m in members[g]:
        out.write(f"member: {m}\n")
    if i > 0:
        out.write(f"memberOf: {groups[i - 1]}\n")
    out.write("\n")
PY
echo "==> slapadd"
/usr/sbin/slapadd -q -f "$work/slapd.conf" -l "$work/data.ldif"
rm -f "$work/data.ldif"
t1=$(date +%s.%N)
printf 'loaded in %.1f s\n' "$(echo "$t1 - $t0" | bc)"

/usr/sbin/slapd -f "$work/slapd.conf" -h "ldap://127.0.0.1:$port/" -d 0 >"$work/slapd.log" 2>&1 &
slapd_pid=$!
for _ in $(seq 100); do
    ldapsearch -x -H "ldap://127.0.0.1:$port" -b '' -s base >/dev/null 2>&1 && break
    sleep 0.1
done

echo "==> building the check (release)"
cargo build --release --quiet --example ldap_sync_bench
bench=target/release/examples/ldap_sync_bench

# Unpaged, the server refuses: the limit is real.
if ldapsearch -x -H "ldap://127.0.0.1:$port" -D "$bind" -w "$password" -b "$base" '(objectClass=inetOrgPerson)' dn >/dev/null 2>&1; then
    echo "error: the server answered an unpaged search of $users entries; its limits are not in force" >&2
    exit 1
fi

filter="(&(objectClass=person)(|"
for i in $(seq 0 $((levels - 1))); do
    if ((i == 0)); then g="cn=MFA Users,ou=Users,$base"; else g="cn=MFA Users L$i,ou=Users,$base"; fi
    filter+="(memberOf=$g)"
done
filter+="))"

measure() { # prints "SECONDS KIB"
    /usr/bin/time -f '%e %M' -o "$work/time" "$@" >"$work/out" 2>"$work/err" || {
        cat "$work/err" "$work/out" >&2
        exit 1
    }
    cat "$work/time"
}

best_check=999999 best_ls=999999 rss_check=0 rss_ls=0
for r in $(seq $runs); do
    read -r s k < <(MFA_ROLLOUT_SECRET_LDAP_PASSWORD=$password measure "$bench" "ldap://127.0.0.1:$port/?plain" "$bind" "MFA Users")
    cp "$work/out" "$work/check.out"
    best_check=$(echo "if ($s < $best_check) $s else $best_check" | bc)
    ((k > rss_check)) && rss_check=$k
    read -r s k < <(measure ldapsearch -x -LLL -H "ldap://127.0.0.1:$port" -D "$bind" -w "$password" -b "$base" \
        -E pr=500/noprompt "$filter" uid sAMAccountName telephoneNumber mobile homePhone ipPhone pager)
    count=$(grep -c '^dn: ' "$work/out" || true)
    best_ls=$(echo "if ($s < $best_ls) $s else $best_ls" | bc)
    ((k > rss_ls)) && rss_ls=$k
    echo "run $r: check done, ldapsearch returned $count entries"
done

echo
echo "==> check output"
cat "$work/check.out"
echo
printf 'check:      %6.2f s wall (best of %d), peak RSS %6.1f MiB\n' "$best_check" "$runs" "$(echo "$rss_check / 1024" | bc -l)"
printf 'ldapsearch: %6.2f s wall (best of %d), peak RSS %6.1f MiB\n' "$best_ls" "$runs" "$(echo "$rss_ls / 1024" | bc -l)"
ratio=$(echo "$best_check / $best_ls" | bc -l)
printf 'ratio check/ldapsearch: %.2f (target <= 1.20); check RSS target < 50 MiB\n' "$ratio"
