# Sourced by the scripts: installs the Debian 12 packages the project needs, only those missing.
TEMPOS_PACKAGES=(
    build-essential cmake pkg-config
    clang llvm libbpf-dev libxdp-dev bpftool libelf-dev zlib1g-dev libmnl-dev
    libboost-dev libtoml11-dev libspdlog-dev libcli11-dev libcpp-httplib-dev libcap-dev
    libgtest-dev libgmock-dev libmosquitto-dev libnats-dev nlohmann-json3-dev libcap-ng-dev libsystemd-dev
    clang-14 libfuzzer-14-dev
    iproute2 ethtool util-linux libcap2-bin valgrind python3 systemd xdp-tools strace
    prometheus
    # The cluster topic table (host-stub/cluster): etcd to run, and its v3 API's .proto files (with the gogo and
    # googleapis protos they import) compiled with gRPC at build time.
    etcd-server etcd-client golang-etcd-server-dev golang-github-gogo-protobuf-dev
    golang-github-grpc-ecosystem-grpc-gateway-dev libgrpc++-dev protobuf-compiler-grpc
    # The TLS test of the cluster (cluster_etcd_test) makes its certificates with openssl.
    openssl
)

tempos_install_packages() {
    local missing=() p
    for p in "${TEMPOS_PACKAGES[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing Debian packages (run as root to install them): ${missing[*]}" >&2
        return 1
    fi
    echo "installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}
