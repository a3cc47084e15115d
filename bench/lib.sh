# SPDX-License-Identifier: Apache-2.0
# Helpers shared by the bench/ scripts: `source "$(dirname "$0")/lib.sh"`.

# free_port: a TCP port P such that no socket on this machine uses P or P+1
# (a caller may take both), below the kernel's ephemeral range (32768-60999
# by default): a port inside it could become the local port of some client
# connection between this check and the engine's bind, which then fails with
# "Address already in use".
free_port() {
    local p i
    for i in $(seq 1 200); do
        p=$((20000 + RANDOM % 12000))
        if [[ -z $(ss -Htan "sport = :$p") && -z $(ss -Htan "sport = :$((p + 1))") ]]; then
            echo "$p"
            return 0
        fi
    done
    echo "no free port found" >&2
    return 1
}
