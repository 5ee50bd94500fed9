# Real nginx (Debian's) for the suites: one instance as the entry router, its config, pid and
# logs under $WORK, run in the foreground (daemon off) so it is stopped by PID like the rest.

# nginx_conf UPSTREAM_PORT: a complete config routing / to 127.0.0.1:UPSTREAM_PORT.
nginx_conf() {
  cat <<CONF
daemon off;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / { proxy_pass http://127.0.0.1:$1; proxy_connect_timeout 1s; }
  }
}
CONF
}

# start_nginx UPSTREAM_PORT: sets NGINX_PORT and NGINX_CONF, waits until it answers.
start_nginx() {
  mkdir -p "$WORK/nginx"
  NGINX_PORT=$(closed_port)
  NGINX_CONF="$WORK/nginx/nginx.conf"
  nginx_conf "$1" > "$NGINX_CONF"
  setsid nginx -e "$WORK/nginx/error.log" -c "$NGINX_CONF" </dev/null >"$WORK/nginx/stdout.log" 2>&1 &
  STARTED_PIDS+=($!)
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/" && return 0; sleep 0.05; done
  echo "nginx did not start"; cat "$WORK/nginx/error.log"; exit 1
}

# switch_playbook FILE UPSTREAM_PORT SITE [EXTRA CONFIG TEXT]: a one-step playbook that points
# nginx at UPSTREAM_PORT with routing_reload (file_and_exec: nginx -t precheck, reload) and
# proves X-Site: SITE answers 5 times in a row (every 20 ms, within 3 s).
switch_playbook() {
  local conf
  conf=$({ nginx_conf "$2"; printf '%s\n' "${4:-}"; } | sed 's/^/          /')
  cat > "$1" <<YAML
version: 1
name: switch
steps:
  - name: route
    timeout: 20s
    routing_reload:
      file_and_exec:
        path: $NGINX_CONF
        content: |
$conf
        precheck: [nginx, -t, -q, -e, $WORK/nginx/error.log, -c, "{candidate}"]
        reload: [nginx, -e, $WORK/nginx/error.log, -c, $NGINX_CONF, -s, reload]
      verify:
        url: http://127.0.0.1:$NGINX_PORT/site
        expect: {status: 200, headers: {X-Site: $3}}
        consecutive: 5
        interval: 20ms
        timeout: 3s
YAML
}

# The X-Site header nginx's upstream answers with now.
served_site() { curl -s -D - -o /dev/null "http://127.0.0.1:$NGINX_PORT/site" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-site" {print $2}'; }

# wait_served SITE: waits (up to 10 s) until SITE answers 5 times in a row; after a graceful
# reload nginx's old workers may still answer for a moment. Returns 1 if it never does.
wait_served() {
  local in_a_row=0
  for _ in $(seq 200); do
    if [ "$(served_site)" = "$1" ]; then in_a_row=$((in_a_row + 1)); else in_a_row=0; fi
    [ "$in_a_row" -ge 5 ] && return 0
    sleep 0.05
  done
  return 1
}
