#!/usr/bin/env bash
# The side-by-side bench's own install step: the tools it compares our collectors with, from
# Debian (collectd's daemon and plugins without its default configuration, and the libvirt
# exporter). Neither is started here; the bench runs its own instances on 127.0.0.1.
PART=bench
source "$(dirname "${BASH_SOURCE[0]}")/../infra/local/lib.sh"
apt_ensure collectd-core prometheus-libvirt-exporter
