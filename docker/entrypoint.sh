#!/bin/sh
# hw5's containers run as the invoking user (docker run --user "$(id -u):$(id -g)", docs/containers.md),
# whose uid the image does not know: make its home and the caches under /cache (a bind mount may
# be empty), and say in one line when it cannot write there instead of failing later in a traceback.
for folder in "$HOME" "$HOME/.keras" ${KERAS_HOME:+"$KERAS_HOME"} ${TFHUB_CACHE_DIR:+"$TFHUB_CACHE_DIR"} ${HW5_CACHE_DIR:+"$HW5_CACHE_DIR"}; do
    mkdir -p "$folder" 2>/dev/null
    if [ ! -w "$folder" ]; then
        echo "hw5: $folder is not writable by uid $(id -u) (a cache volume made by an older hw5 image, owned by root?):" \
            "docker volume rm hw5-cache and run again" >&2
        exit 2
    fi
done
exec "$@"
