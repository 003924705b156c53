cmd_/work/main/kmod/modules.order := {   echo /work/main/kmod/vireo.ko; :; } > /work/main/kmod/modules.order
