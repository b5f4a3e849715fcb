#!/usr/bin/env bash
# Nginx + Nchan as a fan-out peer: nchan.sh PORT CPU WORKDIR
#   subscribe: ws://127.0.0.1:PORT/sub/CHANNEL   (one frame per publication carrying the raw body:
#              text, but binary if it was published as application/octet-stream)
#   publish:   POST http://127.0.0.1:PORT/pub/CHANNEL  with the payload as body
# Runs in the foreground (daemon off); this script's PID becomes the nginx master, which has one
# worker child (inherits the CPU pin). SIGTERM to the master stops both.
set -euo pipefail
PORT=$1 CPU=$2 WORKDIR=$(mkdir -p "$3" && cd "$3" && pwd)
mkdir -p "$WORKDIR/tmp"
# nginx cannot raise the fd limit past the hard limit here (no CAP_SYS_RESOURCE; 20000 on this machine),
# and fails with an alert if asked to, so ask for min(65536, hard limit).
NOFILE=$(ulimit -Hn); [[ $NOFILE == unlimited || $NOFILE -gt 65536 ]] && NOFILE=65536
cat >"$WORKDIR/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_nchan_module.so;
daemon off;
worker_processes 1;
worker_rlimit_nofile $NOFILE;
pid $WORKDIR/nginx.pid;
error_log $WORKDIR/error.log warn;
events { worker_connections 65536; }
http {
  access_log off;
  client_body_temp_path $WORKDIR/tmp/body;
  proxy_temp_path $WORKDIR/tmp/proxy;
  fastcgi_temp_path $WORKDIR/tmp/fastcgi;
  uwsgi_temp_path $WORKDIR/tmp/uwsgi;
  scgi_temp_path $WORKDIR/tmp/scgi;
  # The publisher reuses one keep-alive connection; nginx's default closes it after 1000 requests.
  keepalive_requests 100000000;
  keepalive_timeout 3600s;
  server {
    listen 127.0.0.1:$PORT backlog=4096;
    location ~ ^/sub/(\w+)\$ {
      nchan_subscriber websocket;
      nchan_channel_id \$1;
      nchan_subscriber_first_message newest;  # no backlog even if messages were stored (verify.py checks)
    }
    location ~ ^/pub/(\w+)\$ {
      nchan_publisher http;
      nchan_channel_id \$1;
      # Live fan-out only: store no messages (0 works; publications still reach current subscribers).
      nchan_message_buffer_length 0;
      nchan_message_timeout 10s;
    }
  }
}
CONF
# -e: the error log before the config is read (the default would be stderr/var/log).
exec taskset -c "$CPU" nginx -e "$WORKDIR/error.log" -c "$WORKDIR/nginx.conf" -p "$WORKDIR"
