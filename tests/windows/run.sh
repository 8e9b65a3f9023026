#!/usr/bin/env bash
# The Windows suite: builds the real mfa-rollout.exe (x86_64-pc-windows-gnu) and runs
# its main journeys under Wine, in a throwaway prefix made here and removed at the end.
#
#   tests/windows/run.sh [--exe FILE] [--linux FILE] [--keep]
#
#   --exe FILE     use this mfa-rollout.exe instead of building one
#   --linux FILE   the Linux build to compare outputs with (default: build it with cargo)
#   --keep         keep the temp folder (prefix, states, logs) for a post-mortem
#
# The exe runs from "C:\Program Files\MFA Rollout\" and keeps its rollouts in
# "C:\Users\<user>\Documents\MFA Rollout\" (spaces, drive letter). Beside it goes
# bcryptprimitives.dll built from processprng.c: Wine 8 lacks ProcessPrng, which Rust's
# std needs (without it the exe exits 53 before main). Live checks go to a private
# nginx on 127.0.0.1 with an openssl-made CA, started and stopped (by PID) here.
#
# Ends with "N passed, N failed". Exits non-zero when wine or another tool is missing,
# the exe cannot be built, or any journey fails: never a silent skip.
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 1

exe=""
linux=""
keep=0
while (($#)); do
    case "$1" in
        --exe) exe=$2; shift ;;
        --linux) linux=$2; shift ;;
        --keep) keep=1 ;;
        -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "tests/windows/run.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done

die() {
    printf '\nWINDOWS SUITE CANNOT RUN: %s\n' "$*" >&2
    echo "0 passed, 1 failed"
    exit 1
}
[[ ":$PATH:" == *":/usr/sbin:"* ]] || PATH="$PATH:/usr/sbin:/sbin"

# ---------------------------------------------------------------- tools
for tool in "wine:wine (and wine64)" "wineserver:wine64" "x86_64-w64-mingw32-gcc:gcc-mingw-w64-x86-64-win32" \
    "openssl:openssl" "nginx:nginx-light" "script:bsdutils" "jq:jq" "timeout:coreutils"; do
    command -v "${tool%%:*}" >/dev/null ||
        die "\`${tool%%:*}\` is not installed: apt-get install -y --no-install-recommends ${tool#*:} (scripts/test installs it)"
done
[[ -x /usr/lib/wine/wine64 || -x /usr/lib/wine/wine64-preloader ]] ||
    die "64-bit wine is not installed: apt-get install -y --no-install-recommends wine64 wine"

# ---------------------------------------------------------------- builds
t_start=$SECONDS
if [[ -z $exe ]]; then
    echo "building mfa-rollout.exe (the release command is in README, 'Windows build')"
    t0=$SECONDS
    # The linker (mingw-w64) is set in .cargo/config.toml.
    CARGO_TARGET_DIR=target/windows RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
        /usr/bin/cargo build -Zbuild-std=std,panic_abort --target x86_64-pc-windows-gnu --bins ||
        die "cargo build for x86_64-pc-windows-gnu failed"
    exe=target/windows/x86_64-pc-windows-gnu/debug/mfa-rollout.exe
    echo "exe built in $((SECONDS - t0)) s"
fi
[[ -f $exe ]] || die "no exe at $exe"
if [[ -z $linux ]]; then
    echo "building the Linux build to compare with"
    cargo build --bin mfa-rollout || die "cargo build (Linux) failed"
    linux=target/debug/mfa-rollout
fi
[[ -x $linux ]] || die "no Linux build at $linux"
exe=$(realpath "$exe")
linux=$(realpath "$linux")

work=$(mktemp -d "${TMPDIR:-/tmp}/mfa-wine.XXXXXX") || die "mktemp failed"
chmod 755 "$work" # the nginx workers (nobody) read the lab files below it
mkdir -p "$work/home" "$work/lab" "$work/out" "$work/linux"

x86_64-w64-mingw32-gcc -shared -O2 -Wall -Wextra -Werror -o "$work/bcryptprimitives.dll" \
    tests/windows/processprng.c tests/windows/processprng.def -ladvapi32 ||
    die "building bcryptprimitives.dll (tests/windows/processprng.c) failed"

# ---------------------------------------------------------------- wine
export WINEPREFIX=$work/prefix WINEARCH=win64 WINEDEBUG=-all
# No .NET or Gecko installer prompts, no desktop menu entries; our ProcessPrng DLL first.
export WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d;bcryptprimitives=n,b"
# The prefix links "Documents" to $HOME/Documents when that exists: give Wine a HOME of
# its own, so nothing lands in the caller's real folders.
wine_home=$work/home
unset MFA_ROLLOUT_SECRET_SDK_PASSWORD MFA_ROLLOUT_SECRET_LDAP_PASSWORD MFA_ROLLOUT_STATE MFA_ROLLOUT_LOG NO_COLOR
# Headless, as in CI, even on a desktop: no Wine windows, the console is the terminal's.
unset DISPLAY WAYLAND_DISPLAY

nginx_pid=""
tui_pid=""
cleanup() {
    [[ -n $tui_pid ]] && kill -KILL "$tui_pid" 2>/dev/null
    if [[ -n $nginx_pid ]]; then
        kill -TERM "$nginx_pid" 2>/dev/null
        for _ in $(seq 100); do kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.05; done
        kill -KILL "$nginx_pid" 2>/dev/null
    fi
    [[ -d $WINEPREFIX ]] && HOME=$wine_home wineserver -k 2>/dev/null
    if ((keep)); then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$SECONDS
HOME=$wine_home timeout 180 wine wineboot --init >"$work/wineboot.log" 2>&1 ||
    die "wine could not create a prefix: $(tail -5 "$work/wineboot.log")"
HOME=$wine_home wineserver -w
# One persistent wineserver for the whole suite (stopped by the trap): without it, a run
# that starts while the previous run's server is shutting down fails with "wine client
# error: recvmsg: Connection reset by peer".
HOME=$wine_home wineserver -p
user=$(find "$WINEPREFIX/drive_c/users" -mindepth 1 -maxdepth 1 -type d ! -name Public -printf '%f\n' | head -1)
[[ -n $user ]] || die "the new prefix has no user profile folder"
bin="$WINEPREFIX/drive_c/Program Files/MFA Rollout"
docs="$WINEPREFIX/drive_c/users/$user/Documents/MFA Rollout"
wdocs="C:\\Users\\$user\\Documents\\MFA Rollout"
mkdir -p "$bin" "$docs"
cp "$exe" "$bin/mfa-rollout.exe"
cp "$work/bcryptprimitives.dll" "$bin/"
echo "prefix ready in $((SECONDS - t0)) s: $WINEPREFIX (user $user)"

# mr [-C UNIXDIR] [-i STDINFILE] ARGS...: run the exe; sets RC and leaves its
# standard output in $O and standard error in $E.
O=$work/stdout
E=$work/stderr
RC=0
mr() {
    local cwd=$docs in=/dev/null
    while :; do
        case "$1" in
            -C) cwd=$2; shift 2 ;;
            -i) in=$2; shift 2 ;;
            *) break ;;
        esac
    done
    (cd "$cwd" && HOME=$wine_home exec timeout -k 5 120 wine "$bin/mfa-rollout.exe" "$@") <"$in" >"$O" 2>"$E"
    RC=$?
    LAST="mfa-rollout.exe $*"
}
# lx ARGS...: the same with the Linux build, in $work/linux.
lx() {
    (cd "$work/linux" && exec timeout -k 5 60 "$linux" "$@") </dev/null >"$O" 2>"$E"
    RC=$?
    LAST="mfa-rollout (Linux) $*"
}

# ---------------------------------------------------------------- assertions
jfail=0
bad() {
    jfail=1
    printf '    FAIL: %s\n' "$*"
}
show_last() {
    printf '      (%s: exit %s)\n' "$LAST" "$RC"
    sed -n '1,15s/^/      out| /p' "$O"
    sed -n '1,15s/^/      err| /p' "$E"
}
rc_is() {
    [[ $RC == "$1" ]] || { bad "exit code $RC, expected $1"; show_last; }
}
out_has() { grep -Eq -- "$1" "$O" || { bad "standard output lacks /$1/"; show_last; }; }
err_has() { grep -Eq -- "$1" "$E" || { bad "standard error lacks /$1/"; show_last; }; }
out_says() { grep -Fq -- "$1" "$O" || { bad "standard output lacks '$1'"; show_last; }; }
file_has() { grep -Eq -- "$2" "$1" || bad "$(basename "$1") lacks /$2/"; }
json_is() { # json_is FILE JQ-EXPR EXPECTED
    local got
    got=$(jq -r "$2" "$1" 2>&1)
    [[ $got == "$3" ]] || bad "$(basename "$1"): $2 is '$got', expected '$3'"
}
same() { # same WHAT FILE1 FILE2
    if ! cmp -s "$2" "$3"; then
        bad "$1 differs between the Linux and the Windows build"
        diff -u "$2" "$3" | head -20 | sed 's/^/      /'
    fi
}
# wait_for FILE REGEX SECS: poll (never a fixed sleep) until FILE matches.
wait_for() {
    local deadline=$((SECONDS + $3))
    while ((SECONDS < deadline)); do
        grep -aEq -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# The same for a wizard's screen, as text: Wine's console wraps the escape-laden stream it
# passes to the pty with CR CR LF at its width, even inside a word or an escape sequence,
# so those go first; then every escape sequence (colour, cursor moves) becomes a space.
screen_text() {
    tr -d '\r\n' <"$1" 2>/dev/null | sed 's/\x1b\[[0-9;?]*[A-Za-z]/ /g'
}
wait_screen() {
    local deadline=$((SECONDS + $3))
    while ((SECONDS < deadline)); do
        screen_text "$1" | LC_ALL=C.UTF-8 grep -aEq -- "$2" && return 0
        sleep 0.1
    done
    return 1
}

passed=0
failed=0
failed_names=()
# note TEXT: a line shown under the journey's result, pass or fail.
note() { printf '%s\n' "$*" >>"$work/notes"; }
journey() {
    local name=$1
    shift
    jfail=0
    printf '  %-64s ' "$name"
    local log=$work/journey.log
    : >"$work/notes"
    "$@" >"$log" 2>&1
    if ((jfail)); then
        echo "FAIL"
        sed 's/^/  /' "$log"
        failed=$((failed + 1))
        failed_names+=("$name")
    else
        echo "ok"
        passed=$((passed + 1))
    fi
    sed 's/^/      /' "$work/notes"
}

# ---------------------------------------------------------------- the TLS lab
# A private CA, a certificate for mfa.corp.contoso.com, and nginx on 127.0.0.1 serving it,
# with the Web Service SDK's path behind HTTP Basic (CORP\PFWSDK_APP1) as tests/lab does.
lab=$work/lab
sdk_password='Lab-Sdk.Passw0rd!42'
wrong_password='Not-The.Passw0rd!17'
sdk_path=/MultiFactorAuthWebServiceSdk/PfWsSdk.asmx
start_lab() {
    local o=(-config "$lab/ca.cnf")
    cat >"$lab/ca.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[leaf_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:mfa.corp.contoso.com
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
    openssl req "${o[@]}" -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$lab/ca.key" -out "$lab/ca.crt" -days 3650 -extensions ca_ext \
        -subj "/O=Contoso Lab/CN=Contoso Lab Root CA" 2>/dev/null &&
        openssl req "${o[@]}" -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$lab/mfa.key" -out "$lab/mfa.csr" -subj "/CN=mfa.corp.contoso.com" 2>/dev/null &&
        openssl x509 -req -in "$lab/mfa.csr" -CA "$lab/ca.crt" -CAkey "$lab/ca.key" -CAcreateserial \
            -days 365 -extfile "$lab/ca.cnf" -extensions leaf_ext -out "$lab/mfa.crt" 2>/dev/null ||
        return 1
    chmod 600 "$lab/mfa.key" "$lab/ca.key"
    chmod 644 "$lab/mfa.crt" "$lab/ca.crt"
    thumbprint=$(openssl x509 -noout -fingerprint -sha1 -in "$lab/mfa.crt" | sed 's/.*=//; s/://g' | tr a-f A-F)
    printf 'CORP\\PFWSDK_APP1:%s\nPFWSDK_APP1:%s\n' \
        "$(openssl passwd -apr1 "$sdk_password")" "$(openssl passwd -apr1 "$sdk_password")" >"$lab/htpasswd"
    mkdir -p "$lab/www/MultiFactorAuthWebServiceSdk" "$lab/logs" "$lab/tmp"
    printf '<?xml version="1.0"?><definitions name="PfWsSdk"/>\n' >"$lab/www$sdk_path"
    chmod -R a+rX "$lab/www" "$lab/htpasswd"
    for _ in 1 2 3 4 5 6 7 8; do
        lab_port=$((20000 + RANDOM % 40000))
        cat >"$lab/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
pid "$lab/nginx.pid";
error_log "$lab/logs/error.log" info;
events { worker_connections 64; }
http {
    access_log "$lab/logs/access.log";
    client_body_temp_path "$lab/tmp/body";
    proxy_temp_path "$lab/tmp/proxy";
    fastcgi_temp_path "$lab/tmp/fastcgi";
    uwsgi_temp_path "$lab/tmp/uwsgi";
    scgi_temp_path "$lab/tmp/scgi";
    ssl_protocols TLSv1.2 TLSv1.3;
    server_tokens off;
    server {
        listen 127.0.0.1:$lab_port ssl;
        server_name mfa.corp.contoso.com;
        ssl_certificate "$lab/mfa.crt";
        ssl_certificate_key "$lab/mfa.key";
        root "$lab/www";
        location = $sdk_path {
            auth_basic "MFA Web Service SDK";
            auth_basic_user_file "$lab/htpasswd";
            default_type "text/xml; charset=utf-8";
            error_page 405 =200 \$uri;
        }
    }
}
EOF
        rm -f "$lab/nginx.pid" "$lab/logs/error.log"
        nginx -p "$lab" -c "$lab/nginx.conf" -e "$lab/logs/error.log" </dev/null >"$lab/logs/stderr.log" 2>&1 &
        nginx_pid=$!
        local deadline=$((SECONDS + 20))
        while ((SECONDS < deadline)); do
            if ! kill -0 "$nginx_pid" 2>/dev/null; then break; fi
            if [[ -f $lab/nginx.pid ]] && openssl s_client -connect "127.0.0.1:$lab_port" \
                -servername mfa.corp.contoso.com </dev/null 2>/dev/null | grep -q 'CN *= *mfa.corp.contoso.com'; then
                return 0
            fi
            sleep 0.1
        done
        kill -TERM "$nginx_pid" 2>/dev/null
        wait "$nginx_pid" 2>/dev/null
        nginx_pid=""
        grep -q "Address already in use" "$lab/logs/error.log" "$lab/logs/stderr.log" 2>/dev/null || break
    done
    cat "$lab/logs/error.log" "$lab/logs/stderr.log" >&2 2>/dev/null
    return 1
}
start_lab || die "the nginx lab did not start (log above)"
cp "$lab/ca.crt" "$docs/lab-ca.pem"
connect="mfa.corp.contoso.com=127.0.0.1:$lab_port"
echo "nginx lab on 127.0.0.1:$lab_port (pid $nginx_pid)"

# ---------------------------------------------------------------- journeys
demo="$wdocs\\mfa-rollout.toml" # the default name, opened from its folder (cwd) too
lab_state="$wdocs\\lab rollout.toml"
prod_state="$wdocs\\production.toml"
ca="$wdocs\\lab-ca.pem"

j_runs() {
    mr --version
    rc_is 0
    out_has '^mfa-rollout [0-9]+\.[0-9]+'
    mr --help
    rc_is 0
    out_has 'Log file for this state: mfa-rollout.log'
}

j_init_demo() {
    mr init --profile demo # cwd = C:\Users\<user>\Documents\MFA Rollout, default --state
    rc_is 0
    out_has '^created mfa-rollout.toml from the demo profile \(38 steps\)'
    [[ -f $docs/mfa-rollout.toml && -f $docs/mfa-rollout.journal.jsonl ]] || bad "no state or journal in $docs"
    mr --state "$demo" status --format json
    rc_is 0
    json_is "$O" .profile demo
    json_is "$O" .state_file "$demo"
    json_is "$O" '.missing_values | length' 0
    mr init --profile demo
    rc_is 2
    err_has 'already|exists'
}

lab_values=(--set domain=lab.contoso.test --set netbios=LAB --set mfa_fqdn=mfa.lab.contoso.test
    --set portal_host_fqdn=app1.lab.contoso.test --set portal_fqdn=mfaweb.lab.contoso.test
    --set portal_address=10.9.0.50 --set 'portal_admins=Portal Admins' --set sdk_account=PFWSDK_APP1
    --set 'sync_group=MFA Users' --set adfs_servers=adfs1.lab.contoso.test)
j_init_lab() {
    mr -C "$work/home" --state "$lab_state" init --profile lab "${lab_values[@]}"
    rc_is 0
    out_has 'from the lab profile'
    grep -q 'still to set' "$O" && bad "lab: values still to set: $(cat "$O")"
    # the suggested command quotes the path for cmd and PowerShell alike
    out_says "open the wizard with \`mfa-rollout --state \"$lab_state\"\`"
    [[ -f "$docs/lab rollout.toml" ]] || bad "no 'lab rollout.toml' in $docs"
    mr -C "$work/home" --state "$lab_state" status --format json
    rc_is 0
    json_is "$O" .profile lab
    json_is "$O" '.missing_values | length' 0
}

j_init_production() {
    mr --state "$prod_state" init --profile production "${lab_values[@]}" \
        --set mfa_secondaries=mfa2.lab.contoso.test --set smtp_host=smtp.lab.contoso.test:25 \
        --set email_from=mfa@lab.contoso.test
    rc_is 0
    out_has 'from the production profile'
    grep -q 'still to set' "$O" && bad "production: values still to set: $(cat "$O")"
    mr --state "$prod_state" steps --format json
    rc_is 0
    json_is "$O" '[.[] | select(.server == "mfa2.lab.contoso.test")] | length > 0' true
    # production requires email: its email steps apply (they are n/a in demo and lab)
    json_is "$O" '.[] | select(.key == "mfa.email-settings") | .status' pending
}

j_attest_skip_set() {
    mr attest primary.cert --note "Enrolled from the CA; see change 4711" \
        --evidence serial=1A2B3C --evidence expires=2027-06-30 --evidence "thumbprint=AB12CD"
    rc_is 0
    out_has '^primary.cert: done'
    mr skip primary.updates
    rc_is 2
    err_has 'reason'
    mr skip primary.updates --reason "Patched by WSUS last night"
    rc_is 0
    out_has '^primary.updates: skipped'
    mr set portal_address=not-an-address
    rc_is 2
    mr set portal_address=10.0.0.51 'portal_trusted_ips=10.1.0.0/16,10.2.0.0/16'
    rc_is 0
    out_has '^portal_address = 10.0.0.51'
    mr steps --format json
    json_is "$O" '.[] | select(.key == "primary.cert") | .status' "done"
    json_is "$O" '.[] | select(.key == "primary.cert") | .by' "$user"
    json_is "$O" '.[] | select(.key == "primary.updates") | .status' skipped
    mr log
    rc_is 0
    out_has 'primary.updates: pending → skipped  "Patched by WSUS last night"'
}

j_status_steps_show() {
    mr status
    rc_is 0
    out_has '^rollout [0-9a-f]+ \(demo profile\), mfa-rollout.toml'
    out_has '^next: '
    mr steps
    rc_is 0
    [[ $(wc -l <"$O") == 38 ]] || bad "steps: $(wc -l <"$O") lines, expected 38"
    mr show 'secondary.install@mfa2'
    rc_is 0
    out_has 'mfa2.corp.contoso.com'
    mr vars --format json
    rc_is 0
    json_is "$O" '.[] | select(.name == "install_dir") | .value' 'C:\Program Files\Multi-Factor Authentication Server'
    mr show no.such-step
    rc_is 2
    err_has 'unknown step'
}

# The same operations with the Linux build: every text and JSON view that depends on
# neither time, user, host nor path must be byte for byte the same.
j_same_as_linux() {
    lx init --profile demo
    lx attest primary.cert --note "Enrolled from the CA; see change 4711" \
        --evidence serial=1A2B3C --evidence expires=2027-06-30 --evidence "thumbprint=AB12CD"
    lx skip primary.updates --reason "Patched by WSUS last night"
    lx set portal_address=10.0.0.51 'portal_trusted_ips=10.1.0.0/16,10.2.0.0/16'
    [[ $RC == 0 ]] || { bad "the Linux build failed"; show_last; return; }
    local a=$work/cmp-linux b=$work/cmp-windows key
    mkdir -p "$a" "$b"
    for view in "steps" "vars" "vars --format json" "status"; do
        # shellcheck disable=SC2086
        lx $view
        norm_record text <"$O" >"$a/view"
        # shellcheck disable=SC2086
        mr $view
        norm_record text <"$O" >"$b/view"
        same "\`$view\`" "$a/view" "$b/view"
    done
    lx steps --format json
    jq 'map(del(.at, .by))' "$O" >"$a/steps.json"
    mr steps --format json
    jq 'map(del(.at, .by))' "$O" >"$b/steps.json"
    same "steps --format json (without at/by)" "$a/steps.json" "$b/steps.json"
    lx status --format json
    jq 'del(.rollout, .state_file, .log_file)' "$O" >"$a/status.json"
    mr status --format json
    jq 'del(.rollout, .state_file, .log_file)' "$O" >"$b/status.json"
    same "status --format json (without rollout/paths)" "$a/status.json" "$b/status.json"
    mr steps --format json
    jq -r '.[].key' "$O" >"$work/keys"
    while read -r key; do
        lx show "$key"
        norm_record text <"$O" >"$a/show"
        mr show "$key"
        norm_record text <"$O" >"$b/show"
        same "show $key" "$a/show" "$b/show"
    done <"$work/keys"
    local fmt
    for fmt in md json html junit; do
        lx export --format "$fmt"
        norm_record "$fmt" <"$O" >"$a/record.$fmt"
        mr export --format "$fmt"
        norm_record "$fmt" <"$O" >"$b/record.$fmt"
        same "export --format $fmt (times, ids, user, host masked)" "$a/record.$fmt" "$b/record.$fmt"
    done
}
# Masks what differs by nature between two runs: times, the rollout id, the journal head,
# the user and host, the state file's path.
norm_record() {
    sed -E -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?(\.[0-9]+)?(Z|[+-][0-9:]+| UTC)?/TIME/g' \
        -e 's/[0-9a-f]{64}/HASH/g' -e 's/\b[0-9a-f]{16}\b/ID/g' \
        -e "s/\b$user\b/USER/g" -e "s/\b$(hostname)\b/HOST/g" -e 's/\b[A-Z0-9-]+\b(@| on )/HOST\1/g' \
        -e 's#[^"<>( ]*mfa-rollout\.toml#STATE#g' -e 's/time="[0-9.]+"/time="T"/g'
}

j_exports() {
    local fmt
    for fmt in md json html junit ics; do
        mr export --format "$fmt" -o "$wdocs\\record $fmt.$fmt"
        rc_is 0
        [[ -s "$docs/record $fmt.$fmt" ]] || bad "export $fmt wrote nothing to $wdocs\\record $fmt.$fmt"
        mr verify --record "$wdocs\\record $fmt.$fmt"
        rc_is 0
        out_has '^record matches the journal at entry [0-9]+ \(the latest\)'
    done
    file_has "$docs/record md.md" 'Patched by WSUS last night'
    json_is "$docs/record json.json" '.record_schema' 1
    json_is "$docs/record json.json" '.journal.intact' true
    json_is "$docs/record json.json" '.state_file' "mfa-rollout.toml"
    file_has "$docs/record html.html" '^<!(doctype|DOCTYPE) html'
    file_has "$docs/record junit.junit" '<testsuites?'
    file_has "$docs/record ics.ics" 'BEGIN:VCALENDAR'
    file_has "$docs/record ics.ics" "$thumbprint"
    # an existing file is kept without --force; the rollout's own files are always refused
    mr export --format md -o "$wdocs\\record md.md"
    rc_is 2
    local own
    for own in 'MFA-ROLLOUT.TOML' 'Mfa-Rollout.Journal.JSONL' 'mfa-rollout.toml.BAK' 'MFA-ROLLOUT.LOG'; do
        mr export --format md -o "$wdocs\\$own" --force
        rc_is 2
        err_has "is one of this rollout's own files"
    done
    mr export --format md -o "C:\\users\\$user\\documents\\mfa rollout\\mfa-rollout.toml" --force
    rc_is 2
    mr export --format md -o "$wdocs\\record md.md" --force
    rc_is 0
    mr verify
    rc_is 0
    out_has '^journal intact: [0-9]+ entries'
}

# primary.cert has two checks: the TLS check (run from here against the nginx lab) and a
# PowerShell probe of the local certificate store, which Wine cannot run (see j_probe):
# its `error` makes every exit code 2 here, so outcomes are read per check.
tls_is() { json_is "$O" '.results[] | select(.kind == "tls") | .outcome' "$1"; }
j_tls() {
    mr check primary.cert --connect "$connect" --ca-file "$ca" --format json --timeout 20
    tls_is pass
    json_is "$O" '.results[] | select(.kind == "tls") | .evidence.thumbprint' "$thumbprint"
    json_is "$O" '.results[] | select(.kind == "tls") | .evidence.host' mfa.corp.contoso.com
    # without the private CA the chain is untrusted (Windows' own roots do not know it)
    mr check primary.cert --connect "$connect" --format json --timeout 20
    tls_is fail
    json_is "$O" '.results[] | select(.kind == "tls") | .summary | test("untrusted")' true
    # nothing listening: a refused connection is a failure, not a hang
    mr check primary.cert --connect "mfa.corp.contoso.com=127.0.0.1:1" --format json --timeout 20
    tls_is fail
    json_is "$O" '.results[] | select(.kind == "tls") | .summary | test("refused")' true
    mr check primary.cert --connect "$connect" --ca-file "$ca"
    out_has '^PASS +primary.cert +mfa.corp.contoso.com: valid, trusted'
    mr export --format ics
    rc_is 0
    out_has "$thumbprint"
}

# The Windows-only probe runner starts powershell.exe with -EncodedCommand and reads what
# it prints. Wine's powershell.exe is a stub that prints nothing: the product must call
# that "could not tell" (error, exit 2), never a pass or a failure.
j_probe() {
    mr check primary.updates --format json --timeout 30
    rc_is 2
    json_is "$O" '.results[0].kind' powershell
    json_is "$O" '.results[0].outcome' error
    json_is "$O" '.results[0].summary' "the probe printed nothing"
    mr steps --format json
    json_is "$O" '.[] | select(.key == "primary.updates") | .status' skipped
}

j_secret() {
    printf '%s\n' "$wrong_password" >"$work/wrong.txt"
    printf '%s\r\n' "$sdk_password" >"$work/right.txt" # CRLF, as a Windows pipe may send it
    mr -i "$work/right.txt" secret set sdk_password
    rc_is 0
    out_has '^stored sdk_password for corp.contoso.com in Windows Credential Manager'
    # Wine's Credential Manager keeps it under HKCU\Software\Wine\Credential Manager,
    # encrypted: the generic credential is there, its password is not readable.
    HOME=$wine_home timeout 60 wine reg query 'HKCU\Software\Wine\Credential Manager' /s >"$work/creds.txt" 2>&1
    grep -q 'Generic: corp.contoso.com/sdk_password.mfa-rollout' "$work/creds.txt" ||
        bad "no generic credential for corp.contoso.com/sdk_password: $(head -c 600 "$work/creds.txt")"
    note "Credential Manager holds $(grep -o 'Generic: corp.contoso.com/sdk_password.mfa-rollout' "$work/creds.txt" | head -1)"
    # Read back: the SDK check sends the stored password (no MFA_ROLLOUT_SECRET_* is set)
    # to the lab, whose nginx accepts only the right one.
    mr check mfa.web-service-sdk --connect "$connect" --ca-file "$ca" --format json --timeout 20
    rc_is 0
    json_is "$O" '.results[0].outcome' pass
    json_is "$O" '.results[0].evidence.auth_status | test("^200")' true
    mr -i "$work/wrong.txt" secret set sdk_password
    rc_is 0
    mr check mfa.web-service-sdk --connect "$connect" --ca-file "$ca" --format json --timeout 20
    rc_is 1
    json_is "$O" '.results[0].evidence.auth_status | test("^401")' true
    mr -i "$work/right.txt" secret set sdk_password
    rc_is 0
    mr check mfa.web-service-sdk --connect "$connect" --ca-file "$ca" --timeout 20
    rc_is 0
    mr -i /dev/null secret set sdk_password
    rc_is 2
    mr export --format json -o "$wdocs\\after-secret.json"
    rc_is 0
    # Absent from every file of the rollout (state, backup, journal, log, exports) in
    # plain text, UTF-16 and the Basic header's Base64 (j_no_secret_in_prefix looks at the
    # whole prefix once Wine has written its registry out).
    local pw enc16 b64 f hits=""
    for pw in "$sdk_password" "$wrong_password"; do
        enc16=$(printf '%s' "$pw" | iconv -f UTF-8 -t UTF-16LE | od -An -tx1 | tr -d ' \n')
        b64=$(printf 'CORP\\PFWSDK_APP1:%s' "$pw" | base64 -w0)
        while IFS= read -r -d '' f; do
            if grep -aqF -e "$pw" -e "$b64" "$f" || od -An -tx1 "$f" | tr -d ' \n' | grep -q "$enc16"; then
                hits+=" $f"
            fi
        done < <(find "$docs" -type f -print0)
    done
    [[ -z $hits ]] || bad "the secret is in:$hits"
    (($(find "$docs" -type f | wc -l) >= 8)) || bad "fewer files than expected in $docs: $(ls "$docs")"
}

# The wizard in a pty (script), fed keys through a fifo.
tui_start() { # tui_start OUTFILE ARGS...
    local out=$1
    shift
    rm -f "$work/tui.fifo" "$work/tui.pid"
    mkfifo "$work/tui.fifo"
    local cmd
    printf -v cmd '%q ' "$bin/mfa-rollout.exe" "$@"
    (cd "$docs" && HOME=$wine_home TERM=xterm-256color COLUMNS=100 LINES=30 \
        exec script -qec "stty cols 100 rows 30; echo \$\$ >'$work/tui.pid'; exec wine $cmd" /dev/null \
        <"$work/tui.fifo" >"$out" 2>&1) &
    tui_pid=$!
    exec 7>"$work/tui.fifo"
}
tui_wait_exit() { # tui_wait_exit SECS -> sets RC to script's exit status
    local deadline=$((SECONDS + $1))
    while ((SECONDS < deadline)); do
        kill -0 "$tui_pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$tui_pid" 2>/dev/null; then
        RC=timeout
        return 1
    fi
    wait "$tui_pid"
    RC=$?
    tui_pid=""
    exec 7>&-
}

# Ends a wizard that is still running (after a failure): SIGKILL to the exe's PID.
tui_kill() {
    [[ -n $tui_pid ]] || return 0
    [[ -s $work/tui.pid ]] && kill -KILL "$(cat "$work/tui.pid")" 2>/dev/null
    tui_wait_exit 20 || kill -KILL "$tui_pid" 2>/dev/null
    tui_pid=""
    exec 7>&- 2>/dev/null
}

j_tui_and_lock() {
    local out=$work/tui.out phase
    tui_start "$out"
    if ! wait_screen "$out" 'Phases' 60; then
        bad "the wizard did not draw within 60 s: $(head -c 600 "$out" | cat -v)"
        tui_kill
        return
    fi
    for phase in primary portal-prereqs mfa-server secondary portal adfs test; do
        wait_screen "$out" "[○◐●✔✘–] +$phase " 10 || bad "phase $phase missing from the phase list"
    done
    wait_screen "$out" 'q +quit' 10 || bad "key help line not drawn"
    # The first open greets with the retirement notice; any key closes it.
    wait_screen "$out" 'Press any key to start' 10 || bad "no welcome notice"
    printf '\r' >&7
    wait_screen "$out" '\[primary\.[a-z-]+\]' 20 || bad "the step pane did not show a step after the notice closed"
    # A second writer is refused while the wizard holds the lock, naming the holder.
    [[ -f "$docs/mfa-rollout.toml.lock.who" ]] || bad "no .lock.who while the wizard runs"
    mr attest primary.iis-binding
    rc_is 2
    err_has "is open for changes by $user on .* \\(pid [0-9]+\\)"
    # Readers are not refused.
    mr status
    rc_is 0
    printf 'q' >&7
    if ! tui_wait_exit 30; then
        bad "the wizard did not quit on q within 30 s"
        tui_kill
        return
    fi
    rc_is 0
    # The console is given back: alternate screen left and cursor shown again (as Wine's
    # console renders them on a Unix terminal).
    tail -c 400 "$out" | grep -aq $'\e\\[?1049l' || bad "alternate screen not left: $(tail -c 120 "$out" | cat -v)"
    tail -c 400 "$out" | grep -aq $'\e\\[?25h' || bad "cursor not shown again: $(tail -c 120 "$out" | cat -v)"
    [[ -f "$docs/mfa-rollout.toml.lock.who" ]] && bad ".lock.who left after a clean quit"
    mr attest primary.iis-binding --note "after the wizard quit"
    rc_is 0
}

j_kill() {
    local out=$work/tui2.out pid
    tui_start "$out"
    wait_screen "$out" 'portal-prereqs' 60 || {
        bad "the wizard did not start: $(head -c 600 "$out" | cat -v)"
        tui_kill
        return
    }
    pid=$(cat "$work/tui.pid")
    # $pid ran `exec wine mfa-rollout.exe`: it is the Windows process itself.
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'mfa-rollout.exe' || bad "pid $pid is not the exe: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
    kill -KILL "$pid"
    tui_wait_exit 30 || bad "script did not end after its child was killed"
    exec 7>&- 2>/dev/null
    mr status
    rc_is 0
    mr attest portal.cert --note "after a killed wizard"
    rc_is 0
    err_has 'notice: .*(took over|taken over|died|left)'
    # Kill writers (SIGKILL to the exe's own process) while they write: each kill comes
    # after a delay that homes in on the end of a run (later after a kill that came before
    # the journal line, earlier after one that found the process gone). After each, the
    # rollout must load and the journal's chain must hold.
    local i wpid t0 ms delay before after early=0 inside=0 late=0
    t0=$(date +%s%N)
    mr set renewal_lead_days=30
    ms=$((($(date +%s%N) - t0) / 1000000))
    delay=$((ms * 3 / 4))
    for i in $(seq 16); do
        before=$(wc -l <"$docs/mfa-rollout.journal.jsonl")
        (cd "$docs" && HOME=$wine_home exec wine "$bin/mfa-rollout.exe" set "renewal_lead_days=$((30 + i))") \
            </dev/null >/dev/null 2>&1 &
        wpid=$!
        sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
        kill -KILL "$wpid" 2>/dev/null
        wait "$wpid" 2>/dev/null
        if (($? == 137)); then # the kill ended it
            after=$(wc -l <"$docs/mfa-rollout.journal.jsonl")
            if ((after > before)); then
                inside=$((inside + 1))
            else
                early=$((early + 1))
                delay=$((delay * (110 + RANDOM % 20) / 100))
            fi
        else # it had exited by itself
            late=$((late + 1))
            delay=$((delay * (70 + RANDOM % 20) / 100))
        fi
        mr status
        [[ $RC == 0 ]] || { bad "kill $i (after $delay ms): status exit $RC"; show_last; }
        mr verify
        [[ $RC == 0 ]] || { bad "kill $i (after $delay ms): verify exit $RC"; show_last; }
    done
    note "16 writers killed (runs take ~${ms} ms): $early before their journal line, $inside after it (saving or exiting), $late had already exited"
    out_has '^journal intact'
    mr set renewal_lead_days=42
    rc_is 0
    mr steps --format json
    rc_is 0
}

# apply on the CRLF + BOM fixtures, at the demo profile's default Windows paths, with the
# SDK password read from Credential Manager (stored by j_secret; no MFA_ROLLOUT_SECRET_*).
# The Linux build, given the same password in the environment, must write the same bytes.
webconfig="$WINEPREFIX/drive_c/inetpub/wwwroot/MultiFactorAuth/web.config"
mfadir="$WINEPREFIX/drive_c/Program Files/Multi-Factor Authentication Server"
adapter="$mfadir/MultiFactorAuthenticationAdfsAdapter.config"
register="$mfadir/Register-MultiFactorAuthenticationAdfsAdapter.ps1"
crlf_only() { # every line ends CRLF: as many LF as CR LF
    [[ $(tr -cd '\n' <"$1" | wc -c) == $(grep -c $'\r$' "$1") ]] || bad "$(basename "$1") has LF-only lines after apply"
}
j_apply() {
    mkdir -p "$(dirname "$webconfig")" "$mfadir"
    cp tests/fixtures/edit/web.config "$webconfig"
    cp tests/fixtures/edit/adapter.config "$adapter"
    cp tests/fixtures/edit/register.ps1 "$register"
    local orig=$work/web.config.orig f
    cp "$webconfig" "$orig"
    mr apply portal.web-config
    rc_is 2
    err_has 'add --yes'
    cmp -s "$webconfig" "$orig" || bad "apply without --yes and without a terminal changed web.config"
    mr apply portal.web-config --dry-run
    rc_is 0
    out_has 'dry run: nothing was written'
    out_says 'C:\inetpub\wwwroot\MultiFactorAuth\web.config'
    cmp -s "$webconfig" "$orig" || bad "--dry-run changed web.config"
    mr apply portal.web-config --yes
    rc_is 0
    out_has '^backup: C:\\inetpub\\wwwroot\\MultiFactorAuth\\web\.config\.[0-9-]+\.bak'
    grep -qF "$sdk_password" "$O" "$E" && bad "apply printed the password"
    f=$(find "$(dirname "$webconfig")" -name 'web.config.*.bak' | head -1)
    { [[ -n $f ]] && cmp -s "$f" "$orig"; } || bad "no backup equal to the original beside web.config"
    head -c 3 "$webconfig" | od -An -tx1 | grep -q 'ef bb bf' || bad "web.config lost its BOM"
    crlf_only "$webconfig"
    grep -qF "$sdk_password" "$webconfig" || bad "web.config lacks the password from Credential Manager"
    cp "$webconfig" "$work/web.config.applied"
    mr apply portal.web-config --yes
    rc_is 0
    out_has 'nothing to change'
    cmp -s "$webconfig" "$work/web.config.applied" || bad "a second apply changed web.config"
    # the file check compares the password in web.config with the stored one
    mr check portal.web-config --format json
    rc_is 0
    json_is "$O" '.results[0].outcome' pass
    grep -qF 'matches the stored password' "$O" || bad "the file check did not compare the stored password: $(head -c 400 "$O")"
    mr apply adfs.adapter-config --yes
    rc_is 0
    crlf_only "$adapter"
    mr apply adfs.register-script --yes
    rc_is 0
    crlf_only "$register"
    grep -qF -e "-ConfigurationFilePath 'C:\Program Files\Multi-Factor Authentication Server\MultiFactorAuthenticationAdfsAdapter.config'" "$register" ||
        bad "the Register script does not name the adapter config: $(grep -a ConfigurationFilePath "$register")"

    # the same edits by the Linux build
    local name
    for name in web.config adapter.config register.ps1; do
        cp "tests/fixtures/edit/$name" "$work/linux/$name"
    done
    MFA_ROLLOUT_SECRET_SDK_PASSWORD=$sdk_password lx apply portal.web-config --file "$work/linux/web.config" --yes
    rc_is 0
    MFA_ROLLOUT_SECRET_SDK_PASSWORD=$sdk_password lx apply adfs.adapter-config --file "$work/linux/adapter.config" --yes
    rc_is 0
    lx apply adfs.register-script --file "$work/linux/register.ps1" --yes
    rc_is 0
    same "web.config after apply" "$work/linux/web.config" "$webconfig"
    same "adapter config after apply" "$work/linux/adapter.config" "$adapter"
    same "Register script after apply" "$work/linux/register.ps1" "$register"
}

# After every journey: stop the prefix's wineserver (it writes the registry, where Wine's
# Credential Manager lives, to user.reg), then no file anywhere in the prefix may hold a
# password in plain text or UTF-16, except the configs `apply` wrote it into by design.
j_no_secret_in_prefix() {
    HOME=$wine_home wineserver -k
    HOME=$wine_home wineserver -w
    grep -q 'Credential Manager\\\\Generic: corp.contoso.com/sdk_password.mfa-rollout' "$WINEPREFIX/user.reg" ||
        bad "user.reg lacks the credential: is this the registry the exe wrote to?"
    local pw enc16 f hits=""
    for pw in "$sdk_password" "$wrong_password"; do
        # UTF-16LE as a grep -P pattern: \xNN\x00 per (ASCII) character
        enc16=$(printf '%s' "$pw" | od -An -tx1 | tr -s ' \n' ' ' | sed 's/ *\([0-9a-f][0-9a-f]\)/\\x\1\\x00/g; s/ *$//')
        f=$( (grep -raFl -e "$pw" "$WINEPREFIX" "$work/home"; grep -raPl "$enc16" "$WINEPREFIX" "$work/home") |
            grep -v -e '/drive_c/inetpub/' -e '/Multi-Factor Authentication Server/' | head -3)
        [[ -z $f ]] || hits+=" $f"
    done
    [[ -z $hits ]] || bad "a password is in plain text in:$hits"
}

j_crlf_state() {
    # A state file edited in Notepad (CRLF) still loads, and the next save keeps its data.
    cp "$docs/lab rollout.toml" "$work/lab.toml.orig"
    sed -i 's/$/\r/' "$docs/lab rollout.toml"
    mr --state "$lab_state" status
    rc_is 0
    mr --state "$lab_state" attest primary.cert --note "state had CRLF line ends"
    rc_is 0
    mr --state "$lab_state" verify
    rc_is 0
}

echo
echo "Windows journeys (mfa-rollout.exe under $(wine --version 2>/dev/null), prefix $WINEPREFIX):"
t_suite=$SECONDS
journey "exe starts: --version, --help" j_runs
journey "init demo in C:\\Users\\$user\\Documents\\MFA Rollout (cwd)" j_init_demo
journey "init lab with --set values ('lab rollout.toml')" j_init_lab
journey "init production with --set values" j_init_production
journey "attest, skip, set (and their refusals)" j_attest_skip_set
journey "status, steps, show, vars" j_status_steps_show
journey "same output as the Linux build (views, every show, exports)" j_same_as_linux
journey "TLS check against the nginx lab (pass, untrusted, refused)" j_tls
journey "PowerShell probe: Wine's stub is 'could not tell' (error)" j_probe
journey "export md/json/html/junit/ics with -o, verify --record" j_exports
journey "secret in Credential Manager, read back by the SDK check" j_secret
journey "apply on CRLF/BOM fixtures (password from Credential Manager)" j_apply
journey "TUI in a pty: phase list, second writer refused, q restores" j_tui_and_lock
journey "killed wizard and killed writers leave a loadable state" j_kill
journey "CRLF state file loads and saves" j_crlf_state
journey "after Wine shut down: no password in any file of the prefix" j_no_secret_in_prefix
echo
echo "Windows suite: prefix $((t_suite - t0 + 0)) s to ready, journeys $((SECONDS - t_suite)) s, whole stage $((SECONDS - t_start)) s"
((failed)) && printf 'failed: %s\n' "${failed_names[@]}"
echo "$passed passed, $failed failed"
((failed == 0))
