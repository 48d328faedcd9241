# tiprelay: mensajes en español, tipctl.

## Líneas de alimentación y archivos de aviso (el archivo de rechazos guarda el inglés)
feed-line-too-long = línea demasiado larga ({ $len } bytes; como máximo { $max })
feed-not-utf8 = UTF-8 no válido en el byte { $at }
feed-not-an-event = no es un evento válido: { $why }
feed-json-missing-field = falta el campo `{ $field }`
feed-json-unknown-field = campo desconocido `{ $field }`
feed-json-duplicate-field = el campo `{ $field }` aparece más de una vez
feed-json-error = { $class ->
        [Syntax] error de sintaxis JSON
        [Data] valor JSON de tipo incorrecto
        [Eof] JSON incompleto
       *[other] error de JSON
    } en la columna { $column }
feed-source-ref = source_ref: de 1 a { $max } caracteres, sin caracteres de control
feed-time-not-rfc3339 = { $field }: «{ $value }» no es una hora RFC 3339
feed-time-before-1970 = { $field }: anterior a 1970
feed-time-out-of-range = { $field }: fuera de rango

## Importación STIX (`tipctl feed --format stix2.1`)
feed-stix-not-a-bundle = no es un paquete STIX 2.1: { $why }
feed-stix-json = { $class ->
        [Syntax] error de sintaxis JSON
        [Data] valor JSON de tipo incorrecto
        [Eof] JSON incompleto
       *[other] error de JSON
    } en la línea { $line }, columna { $column }
feed-stix-not-an-object = no es un objeto JSON
feed-stix-not-bundle-type = su `type` no es `bundle`
feed-stix-no-objects = no hay un arreglo `objects`
feed-stix-too-many = { $count } objetos; como máximo { $max }: divídalo
feed-stix-same-id = el mismo id que el objeto { $first } (otra versión): un aviso no se puede cambiar una vez enviado; envíe un objeto nuevo
feed-stix-object-not-object = no es un objeto JSON
feed-stix-no-type = no tiene `type`
feed-stix-revoked = revocado por su productor; no se envía
feed-stix-encode = no se puede codificar: { $why }
feed-stix-markings = más de 64 marcas
feed-stix-marking = la marca `{ $marking }` no se puede resolver a un nivel TLP
feed-stix-tlp-level = una marca TLP de nivel desconocido
feed-stix-location = location: la latitud y la longitud deben ser números
feed-stix-no-id = no tiene `id`
feed-stix-bad-id = `id` no tiene la forma `<type>--<UUID>` (en minúsculas, con guiones)
feed-stix-no-summary-pattern = no tiene `name`, `description` ni `pattern` con que resumirlo
feed-stix-no-summary = no tiene `name` ni `description` con que resumirlo
feed-stix-no-tlp = sin marca TLP (object_marking_refs); use --tlp para los objetos sin marcar
feed-stix-no-recipient = sin destinatario: use --to

## El almacén local
store-error = almacén local { $path }: { $why }
store-disk-full = { $why } (el disco está lleno)
store-limit = el almacén alcanzó su tamaño máximo ({ $size } de { $limit } bytes, max_store_mb)
store-corrupt = registro dañado: { $why }
store-busy = { $why } (¿lo está usando otro tipctl?)
store-newer = este almacén es de la versión de esquema { $found }, más nueva que la { $supported } de este tipctl: lo escribió una versión posterior; use esa versión (o una posterior), o restaure una copia de seguridad hecha con esta

## Configuración del cliente
config-read = no se puede leer la configuración { $path }: { $error }
config-key = { $path }: clave `{ $key }`: { $why }
config-not-a-client = un cliente es un analista o una alimentación de una jurisdicción
config-no-file = { $path } no existe
config-missing-with = falta: indíquela junto con { $other }
config-no-own-trust = no hay una entrada [[trust]] para la jurisdicción de este principal, { $jurisdiction }
config-not-host-port = «{ $value }» no tiene la forma host:puerto: { $error }
config-no-address = indique al menos un host:puerto
config-too-many-addresses = { $count } direcciones; como máximo 8
config-ui-lang = «{ $value }»: es o en
config-connect-timeout = { $value }: de 100 a 60000 (milisegundos)

## Errores del cliente (tipctl)
tipctl-internal = error interno: { $what }
tipctl-untrusted = { $key ->
        [receipt] el recibo del relé no se verifica
        [tip] el aviso entregado por el relé no se verifica
        [records] los registros del relé no se verifican
        [statement] la declaración recibida del relé no se verifica
        [peer-relay-statement] la declaración del relé par no se verifica
       *[other] la respuesta del relé ({ $what }) no se verifica
    }: { $why }
tipctl-seq-reused = el relé numeró el aviso { $id } de { $from } con el n.º { $seq }, un número que ya había dado a otro aviso; rechazado
tipctl-why-future = su hora de aceptación está en el futuro
tipctl-why-crl-expired = la lista de revocación (CRL) de { $authority } debía reemplazarse el { $next } y su plazo de gracia ya pasó; instale una CRL reciente de { $authority } para verificar avisos
tipctl-why-receipt-mismatch = no corresponde al aviso con el que llegó
tipctl-why-not-ours = está dirigido a { $to }, no a nosotros
tipctl-why-unchecked = no se comprobó
tipctl-why-other-tip = nombra otro aviso u otro resumen criptográfico
tipctl-feedback-own-tip = el aviso { $id } se envió desde aquí; la respuesta la da la jurisdicción que lo recibió
tipctl-why-not-our-relay = lo firma { $signer }, que no es el relé que atiende a { $jurisdiction }
tipctl-why-not-this-receipt = no es el recibo de esta { $subject ->
        [feedback] respuesta
        [statement] declaración
       *[other] { $subject }
    }
tipctl-why-other-statement = es la declaración de { $by } para { $for }, no para { $us }
tipctl-why-not-peer-relay = lo firma { $signer }, no el relé de { $peer }
tipctl-why-other-period = declara para otra jurisdicción u otro periodo que el pedido
tipctl-why-too-many-records = una respuesta trae más registros de los pedidos
tipctl-why-record-outside = un registro queda fuera del periodo pedido
tipctl-why-cursor-back = el cursor de paginación retrocedió
tipctl-no-answer-in-time = el relé no respondió a tiempo
tipctl-not-connected = sin conexión
tipctl-outcomes = { $count } resultados
tipctl-batch-outcomes = { $what } para un lote de { $n }
tipctl-unexpected-answer = respuesta `{ $kind }` inesperada
tipctl-no-relay-root = no hay una raíz configurada para el relé (relay.operator_ca, o la de esta jurisdicción)
tipctl-request-timed-out = la petición excedió el tiempo de espera
tipctl-task-failed = falló una tarea

## Presentación de avisos
tipctl-tlp-clear = divulgación sin restricciones
tipctl-tlp-green = compártase dentro de la comunidad del destinatario, no públicamente
tipctl-tlp-amber = compártase solo con quien necesite conocerlo dentro de la organización del destinatario y sus clientes
tipctl-tlp-amber-strict = compártase solo con quien necesite conocerlo dentro de la organización del destinatario únicamente
tipctl-tlp-red = solo para los destinatarios nombrados; no se comparta
tipctl-feedback-line = { $outcome } por { $by } el { $at } ({ $status ->
        [accepted] aceptada
        [rejected] rechazada
        [pending] pendiente
       *[other] { $status }
    })
tipctl-received-head = { $from } → n.º { $seq }  [{ $urgency } / { $category }]  { $summary }
tipctl-received-signed = firmado por { $signer } (verificado)  id { $id }

## Comandos de tipctl
tipctl-not-a-duration = --{ $field }: «{ $value }» no es una duración como +6h
tipctl-duration-unit = --{ $field }: la unidad debe ser s, m, h o d (p. ej., +6h)
tipctl-time-out-of-range = hora fuera de rango
tipctl-not-a-time = --{ $field }: «{ $value }» no es una hora RFC 3339 (2026-12-01T18:00:00Z), ni una fecha (2026-12-01), ni una duración (+6h)
tipctl-cannot-read = no se puede leer { $path }
tipctl-cannot-read-details = no se puede leer --details-file { $path }
tipctl-cannot-create = no se puede crear { $path }
tipctl-cannot-write = no se puede escribir { $path }
tipctl-cannot-open = no se puede abrir { $path }
tipctl-no-source-ref = { $path }: source_ref es para `tipctl feed`; un aviso enviado a mano no lleva source_ref
tipctl-required = --{ $flag } es obligatorio
tipctl-status-unexpected = respuesta inesperada
tipctl-subscription-closed = el relé cerró la suscripción

## tipctl feed
feed-unreachable = relé inalcanzable ({ $reason }); { $count ->
        [one] 1 aviso espera
       *[other] { $count } avisos esperan
    } en la bandeja de salida; se reintenta en { $ms } ms
feed-task-failed = { $task ->
        [verify] falló una tarea de verificación
        [sign] falló una tarea de firma
       *[other] falló la tarea de envío
    }
feed-refused-tip = el relé rechazó definitivamente el aviso { $id }: { $reason }
feed-retrying = { $reason }; se reintenta
feed-batch-refused = el relé rechazó un lote ({ $reason }); se reintenta
feed-connection-lost = se perdió la conexión ({ $reason }); reconectando
feed-stix-follow = --follow lee las líneas a medida que se agregan; un paquete STIX es un solo documento (quite --follow)
feed-stix-defaults = --to, --category, --tlp y --urgency son valores predeterminados para objetos STIX: úselos con --format stix2.1 (una línea JSON indica los suyos)
feed-stix-too-big = { $path }: un paquete STIX de más de { $mib } MiB; divídalo
feed-stix-tally = { $path }: { $count ->
        [one] 1 objeto
       *[other] { $count } objetos
    }: { $events } para enviar como avisos, { $rejected } rechazados por la conversión, { $context } de contexto (no son avisos)
feed-resuming = se reanuda { $path } después { $unit ->
        [object] del objeto
       *[line] de la línea
    } { $after } (ya firmados y almacenados)
feed-progress = leídas { $read } · rechazadas { $rejected } · con recibo { $receipted } · { $rate }/s
feed-progress-rest = leídas { $read } · rechazadas { $rejected } · con recibo { $receipted } · enviando el resto
feed-line-too-long-more = línea demasiado larga (más de { $max } bytes)
feed-rejected = { $unit ->
        [object] objeto { $line }: rechazado
       *[line] línea { $line }: rechazada
    }: { $reason }
feed-stopped-full = se dejó de leer después de la línea { $line }: todas las líneas hasta ella están firmadas, almacenadas y enviadas; libere espacio (o aumente max_store_mb) y ejecute de nuevo la alimentación para continuar
feed-stopped-at-once = detenido de inmediato; los avisos sin enviar esperan en la bandeja de salida hasta la próxima ejecución
feed-summary = { $state ->
        [stopped] detenido
       *[done] terminado
    }: { $read } { $unit ->
        [object] { $read ->
            [one] objeto leído
           *[other] objetos leídos
        }
       *[line] { $read ->
            [one] línea leída
           *[other] líneas leídas
        }
    }, { $rejected } rechazados (en { $rejects }), { $duplicates } source_ref duplicados, { $signed } firmados, { $receipted } con recibo, { $refused } rechazados por el relé, { $rate } con recibo/s; { $waiting } esperan en la bandeja de salida

## tipctl export
export-out-not-a-file = --out debe nombrar un archivo
export-wrote = se { $tips ->
        [one] escribió 1 aviso
       *[other] escribieron { $tips } avisos
    } como { $objects } objetos STIX 2.1 en { $path }

## tipctl backup
tipctl-backup-exists = ya existe; elija otro nombre para la copia de seguridad, o añada --force para reemplazarlo
tipctl-backup-is-the-store = es el propio almacén; escriba la copia de seguridad en otro archivo
tipctl-backup-no-store = aún no hay ningún almacén aquí: no hay nada que copiar
tipctl-backup-unknown-table = contiene una tabla «{ $name }» que este tipctl no conoce (¿escrita por una versión más reciente?); no se copió nada
tipctl-backup-unverified = la copia no se verifica, así que se eliminó: { $why }
tipctl-backup-entry = la entrada { $index } del registro de auditoría local falta o su hash no es la hoja guardada para ella
tipctl-backup-root = la raíz del registro de auditoría local de { $size } entradas, recalculada a partir de las entradas de la copia, difiere de la guardada
tipctl-backup-done = Copia de seguridad de { $store } escrita en { $file } ({ $bytes } bytes, { $ms } ms), comprobada
tipctl-backup-sha256 = SHA-256: { $sha256 }
tipctl-backup-counts = bandeja de salida: { $outbox }; bandeja de entrada: { $inbox }; registro de auditoría local: { $entries } entradas, raíz { $root }; versión del esquema { $version }
tipctl-backup-keep = Guárdela cifrada: contiene el cuerpo de los avisos. Para restaurar, detenga todo tipctl de este principal y ponga la copia en lugar del archivo del almacén (docs/OPERATIONS.md, «Backups and restore»).

## Revocación posterior a la aceptación (PROTOCOL §6.3)
revocation-note = firmado por { $signer }; su certificado fue revocado el { $revoked }, después de que el relé aceptara este aviso el { $accepted }
