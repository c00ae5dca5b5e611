#!/usr/bin/env bash
# Starts a throwaway ClickHouse for the test run on a free loopback port and prints
# `<pid> <url>`. The caller stops it with `kill <pid>`; its data dir is removed then.
set -euo pipefail
dir="$(mktemp -d /tmp/luister-ch-XXXXXX)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
tcp="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
binary="$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)"
# Every query the tests run is logged, so tests/chdb/replay_query_log.py can replay
# each statement on current ClickHouse (chDB).
sed '0,/<default>/s||<default><log_queries>1</log_queries>|' \
    /etc/clickhouse-server/users.xml > "$dir/users.xml"
cat > "$dir/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><log>$dir/ch.log</log><errorlog>$dir/ch.err.log</errorlog></logger>
    <http_port>$port</http_port>
    <tcp_port>$tcp</tcp_port>
    <listen_host>127.0.0.1</listen_host>
    <path>$dir/data/</path>
    <tmp_path>$dir/tmp/</tmp_path>
    <users_config>$dir/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <mark_cache_size>268435456</mark_cache_size>
    <max_concurrent_queries>200</max_concurrent_queries>
    <query_log>
        <database>system</database>
        <table>query_log</table>
        <flush_interval_milliseconds>1000</flush_interval_milliseconds>
    </query_log>
</yandex>
XML
( "$binary" --config-file="$dir/config.xml" >/dev/null 2>&1; rm -rf "$dir" ) &
pid=$!
for _ in $(seq 1 600); do
    if [ "$(curl -s "http://127.0.0.1:$port/ping" 2>/dev/null)" = "Ok." ]; then
        echo "$pid http://127.0.0.1:$port"
        exit 0
    fi
    sleep 0.1
done
echo "clickhouse did not start; see $dir/ch.err.log" >&2
exit 1
