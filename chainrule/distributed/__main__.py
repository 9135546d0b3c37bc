"""``mpiexec -n N python -m chainrule.distributed``: measure allreduce here, fit α and β, draw the scaling figure."""
from chainrule.distributed.scaling import main

raise SystemExit(main())
