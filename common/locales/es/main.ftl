# tiprelay: mensajes en español (tipctl, tiprelay, tipcerts).
# Todo mensaje de en.ftl existe aquí (una prueba lo comprueba); los mensajes `help-…` solo
# existen aquí, porque la ayuda en inglés son los comentarios de documentación de los comandos.

## Comunes
error = error
warning = AVISO
help-flag = Muestra la ayuda
version-flag = Muestra la versión
help-template = {"{"}before-help{"}"}{"{"}about-with-newline{"}"}
    Uso: {"{"}usage{"}"}

    {"{"}all-args{"}"}{"{"}after-help{"}"}
heading-options = Opciones
heading-arguments = Argumentos
heading-commands = Comandos
clap-unknown-argument = error: argumento inesperado «{ $arg }»
clap-invalid-subcommand = error: comando desconocido «{ $command }»
clap-missing-argument = error: falta un argumento obligatorio: { $arg }
clap-invalid-value = error: valor no válido «{ $value }» para «{ $arg }»
clap-valid-values = valores posibles: { $valid }
clap-conflict = error: «{ $arg }» no se puede usar junto con «{ $prior }»
clap-missing-command = error: indique qué comando (vea --help)
clap-see-help = Para más información, pruebe «{ $bin } --help».

## tipctl: configuración y conexión
no-config = sin configuración: use --config ARCHIVO o defina TIPCTL_CONFIG
crl-stale = la lista de revocación de { $authority } debía renovarse el { $next }; pida una CRL nueva
outbox-sent = { $count ->
        [one] enviado 1 aviso
       *[other] enviados { $count } avisos
    } que esperaban en la bandeja de salida
outbox-refused = el relé rechazó definitivamente el aviso { $id } de la bandeja de salida: { $reason }; no se reenviará
log-unchecked = no se pudo comprobar el registro de auditoría del relé: { $reason }
sequence-gap = hueco en la secuencia de avisos de { $from }: faltan los números { $missing }; el relé pudo haber perdido avisos: repórtelo
delivery-failed = una entrega no superó la verificación y NO se aceptó: { $reason }
unreachable-local = relé inalcanzable; se muestran solo los avisos locales: { $reason }
unreachable-state = relé inalcanzable; se muestra el estado local: { $reason }
new-tips = { $count ->
        [one] 1 aviso nuevo verificado, guardado y confirmado
       *[other] { $count } avisos nuevos verificados, guardados y confirmados
    }

## tipctl: comandos
send-safe = el aviso { $id } está a salvo en la bandeja de salida y lo enviará el próximo comando de tipctl o `tipctl resend`
send-refused-kept = el aviso { $id } fue rechazado definitivamente: queda en la bandeja de salida, marcado como rechazado, y no se reenvía
send-accepted = aceptado: aviso { $id } para { $to } — recibo n.º { $seq } del { $at }, firmado por { $relay }
no-tips = no hay avisos
no-tips-sent = no se ha enviado ningún aviso
no-such-tip = no hay ningún aviso { $id } en el almacén local (ejecute `tipctl inbox` para traer avisos nuevos)
id-not-an-id = «{ $given }» no es un identificador de aviso ni el comienzo de uno (al menos { $min } caracteres hexadecimales)
id-no-match = ningún aviso guardado aquí tiene un identificador que empiece por «{ $given }» (ejecute `tipctl inbox` para traer avisos nuevos)
id-ambiguous = «{ $given }» es el comienzo de { $count } identificadores: { $candidates }; dé más caracteres
feedback-safe = la respuesta { $id } está guardada aquí y la enviará el próximo comando de tipctl o `tipctl resend`
feedback-accepted = aceptada: respuesta { $id } ({ $outcome }) sobre el aviso { $tip } — recibo n.º { $seq } del { $at }; transmitida al autor del aviso
resend-accepted = aceptado: aviso { $id } — recibo n.º { $seq }
resend-refused = rechazado: aviso { $id } — { $reason } (se conserva en la bandeja de salida como rechazado)
resend-summary = { $sent ->
        [one] 1 aviso enviado
       *[other] { $sent } avisos enviados
    }, { $refused } rechazados; no queda nada pendiente
man-written = { $count } páginas de manual escritas en { $dir }
watching = vigilando como { $principal } (Ctrl-C para terminar)
watch-acks = { $count ->
        [one] la contraparte confirmó 1 de sus avisos
       *[other] la contraparte confirmó { $count } de sus avisos
    }
watch-feedback = respuesta sobre su aviso { $tip }: { $outcome } de { $by }
watch-reconnect = { $reason }; reconectando en { $ms } ms
watch-trust-reloaded = los archivos de confianza cambiaron: raíces y CRL recargadas
watch-trust-unusable = no se usan los archivos de confianza modificados: { $reason }
statement-default-period = tipctl: la declaración cubre { $period }, el último mes cerrado (use --for para elegir otro)
statement-open-period = { $period } aún no ha terminado: sus cifras pueden crecer y la conciliación de la contraparte no coincidiría; firme un periodo cerrado o añada --allow-open
statement-empty = la declaración de { $period } no cubre ningún aviso: afirmaría que no hubo intercambio; revise el periodo o confirme con --yes
reconcile-default-period = tipctl: conciliando el periodo en curso, { $period } (use --for para elegir otro)

## tipctl status
status-principal = principal
status-relay = relé
status-relay-ok = { $relay } en { $address } (autenticado, { $ms } ms)
status-relay-down = INALCANZABLE en { $address }: { $reason }
status-waiting = en espera
status-waiting-value = { $count ->
        [one] 1 aviso para usted en el relé
       *[other] { $count } avisos para usted en el relé
    }
status-outbox = salida
status-outbox-value = { $count ->
        [one] 1 aviso sin recibo
       *[other] { $count } avisos sin recibo
    }
status-across = cruce
status-across-value = { $count ->
        [one] 1 aviso aceptado en casa, aún sin cruzar
       *[other] { $count } avisos aceptados en casa, aún sin cruzar
    }
status-across-oldest = (el más antiguo recibido hace { $secs } s)
status-inbox = entrada
status-inbox-value = { $count ->
        [one] 1 aviso
       *[other] { $count } avisos
    }, { $unread } sin leer
status-sequence = secuencia
status-no-gaps = sin huecos
status-gaps = HUECOS de { $from }

## Tablas y presentación de un aviso
col-id = id
col-received = recibido
col-from = de
col-to = para
col-seq = n.º
col-tlp = TLP
col-urgency = urgencia
col-category = categoría
col-summary = resumen
col-author = autor
col-created = creado
col-status = estado
col-feedback = respuesta
show-direction = dirección
show-from = de
show-to = para
show-category = categoría
show-urgency = urgencia
show-summary = resumen
show-author = autor
show-signature = firma
show-signature-value = verificada: firmada por { $signer }, cadena hasta la CA raíz de { $root }
show-created = creado
show-observed = observado
show-valid-until = válido hasta
show-location = ubicación
show-radius-unknown = radio desconocido
show-grading = valoración
show-language = idioma
show-related = relacionados
show-receipt = recibo
show-receipt-value = n.º { $seq } aceptado el { $at } por { $relay } (índice en el registro { $index })
show-receipt-none = aún ninguno (en la bandeja de salida; `tipctl resend` lo envía)
show-delivery = entrega
delivery-in-acked = recibido aquí y confirmado al relé
delivery-in-pending = recibido aquí; confirmación pendiente
delivery-acked = confirmado por { $by }
delivery-refused = RECHAZADO por { $to } ({ $by }): { $reason } [{ $code }]
refused-here = aviso { $id } de { $from } (sec. { $seq }) rechazado definitivamente: { $reason }; se informa a su autor (rechazo firmado)
refused-by = aviso { $id } RECHAZADO por { $to } ({ $by }): { $reason } [{ $code }]
delivery-across = aceptado al otro lado de la frontera por { $relay }; la contraparte aún no lo ha confirmado
delivery-home = aceptado en casa por el relé de esta jurisdicción; aún no ha cruzado al relé de la contraparte
delivery-relay = aceptado por el relé; la contraparte aún no lo ha confirmado
delivery-unsent = aún no enviado

## Ayuda de tipctl (--help)
help-tipctl = La herramienta del analista de tiprelay: enviar avisos a la jurisdicción contraparte, recibir y confirmar los suyos, y ver qué pasó con cada uno
help-tipctl-long = La herramienta del analista de tiprelay: enviar avisos a la jurisdicción contraparte, recibir y confirmar los suyos, y ver qué pasó con cada uno.

    Cada aviso se firma con su clave de firma y el destinatario lo verifica de extremo a extremo. Los avisos se escriben en una bandeja de salida local antes de enviarse: tras una caída o un corte, cualquier comando que se conecte (o `tipctl resend`) envía lo que aún no tiene recibo.
help-tipctl-after = Configuración: --config ARCHIVO o TIPCTL_CONFIG (un archivo creado por `tipcerts dev`, p. ej. dev-pki/MX/analyst.toml).
    Idioma: ui_lang en la configuración; si no, LC_ALL / LC_MESSAGES / LANG (es o en).
    Códigos de salida: 0 hecho, 1 fallo local, 2 uso, 3 relé inalcanzable, 4 rechazado, 5 verificación fallida,
    6 diferencias encontradas, 130 interrumpido.
help-tipctl--config = Archivo de configuración de este principal
help-tipctl-send = Escribir, firmar y enviar un aviso; termina con 0 cuando el recibo firmado del relé está verificado y guardado
help-tipctl-send-after = Ejemplo: tipctl send --to US --category armed_group_crossing --urgency flash \
        --summary 'Grupo armado de ~20 hacia el cruce de Palomas' --tlp amber --lat 31.76 --lon -107.62 --radius-m 2000
help-tipctl-send--to = Jurisdicción destinataria (p. ej. US)
help-tipctl-send--category = armed_group_crossing, tunnel_located, fentanyl_precursors, drug_shipment, arms_trafficking, fuel_theft, illicit_finance, human_smuggling, irregular_migration, other
help-tipctl-send--summary = Una línea, como máximo 500 caracteres
help-tipctl-send--tlp = Etiqueta TLP 2.0: clear, green, amber, amber+strict, red (obligatoria)
help-tipctl-send--urgency = flash, immediate, priority, routine
help-tipctl-send--lat = Latitud (grados WGS84)
help-tipctl-send--lon = Longitud (grados WGS84)
help-tipctl-send--radius_m = Radio de incertidumbre en metros (1-500000); sin él, el radio es desconocido y así se muestra
help-tipctl-send--place = Nombre del lugar
help-tipctl-send--sector = Sector fronterizo
help-tipctl-send--port_of_entry = Puerto de entrada
help-tipctl-send--details_file = Archivo con el texto de detalles (como máximo 16 KiB)
help-tipctl-send--valid_until = Caducidad: hora RFC 3339 o +DURACIÓN (p. ej. +6h, +30m, +2d)
help-tipctl-send--observed_at = Cuándo se observó: hora RFC 3339 o -DURACIÓN (p. ej. -15m)
help-tipctl-send--reliability = Fiabilidad de la fuente A-F
help-tipctl-send--credibility = Credibilidad de la información 1-6
help-tipctl-send--lang = Idioma del texto (por omisión, el configurado)
help-tipctl-send--refs = Id de un aviso relacionado (repetible)
help-tipctl-send--file = Leer el aviso completo de un archivo TOML o JSON (mismos nombres de campo que el aviso)
help-tipctl-send--json = Imprimir un objeto JSON: {"{"}"id", "receipt": {"{"}"seq", ...{"}"}, ...{"}"}
help-tipctl-inbox = Traer avisos nuevos (verificar, guardar, confirmar) y listar los avisos guardados aquí, los más recientes primero
help-tipctl-inbox--unread = Solo los avisos aún no mostrados con `show`
help-tipctl-inbox--limit = Como máximo N avisos
help-tipctl-inbox--json = Un arreglo JSON en lugar de una tabla
help-tipctl-show = Un aviso completo (recibido o enviado), con su banda TLP, firmante, recibo y estado de entrega
help-tipctl-show--id = El id del aviso, o su comienzo (al menos 4 caracteres) tal como aparece en las tablas
help-tipctl-show--json = JSON en lugar de texto
help-tipctl-watch = Permanecer conectado e imprimir cada aviso al llegar (confirmándolo), y las confirmaciones de sus avisos
help-tipctl-watch--json = Un objeto JSON por línea
help-tipctl-outbox = Avisos que usted envió, con su recibo y estado de confirmación
help-tipctl-outbox--json = Arreglo JSON
help-tipctl-outbox-after = Estado: pending (sin recibo aún), rejected (rechazado por el relé), accepted (con recibo),
    crossed (federación: aceptado al otro lado de la frontera), acknowledged (el destinatario lo confirmó),
    refused (el destinatario lo rechazó definitivamente con un rechazo firmado: se muestra bajo la tabla
    con quién lo rechazó y por qué; `--json`: `refused` {"{"}code, reason, by{"}"}).
help-tipctl-feedback = Informar qué resultó de un aviso recibido: una respuesta firmada, transmitida a su autor
help-tipctl-feedback-long = Informar qué resultó de un aviso recibido: una respuesta firmada, transmitida a su autor.

    Varias respuestas por aviso son normales (p. ej. under_review y después seizure); se conservan todas. La respuesta se guarda primero aquí: si el relé no está disponible, la envía el próximo comando que se conecte.
help-tipctl-feedback-after = Ejemplo: tipctl feedback 0193a5b4 --outcome seizure --note '340 kg asegurados en Nogales'
help-tipctl-feedback--id = El id de un aviso recibido, o su comienzo (al menos 4 caracteres)
help-tipctl-feedback--outcome = under_review, actioned, interdicted, arrest, seizure, unfounded, duplicate, outside_jurisdiction
help-tipctl-feedback--note = Una nota breve (una línea, como máximo 500 caracteres)
help-tipctl-feedback--json = Un objeto JSON: {"{"}"id", "tip", "outcome", "receipt": {"{"}...{"}"}{"}"}
help-tipctl-ledger = Libro de reciprocidad a partir de sus propios registros (y los del relé): lo dado y lo recibido, confirmado y atendido, por dirección, categoría y periodo
help-tipctl-ledger-after = Ejemplos:
      tipctl ledger                                   tabla de todo el tiempo, por mes
      tipctl ledger --period week --for 2026-11 --json
      tipctl ledger --html informe.html --lang es      informe para el grupo de implementación
      tipctl ledger statement --send                  firmar la declaración del último mes cerrado y enviarla
      tipctl ledger reconcile                         comparar el mes en curso con el relé y la declaración de la contraparte
help-tipctl-ledger--of = Un periodo con nombre (UTC): 2026, 2026-11, 2026-W48 o 2026-11-30
help-tipctl-ledger--since = Avisos aceptados en esta fecha u hora RFC 3339 o después
help-tipctl-ledger--until = Avisos aceptados antes de esta fecha u hora RFC 3339
help-tipctl-ledger--period = Granularidad de las filas: day, week o month
help-tipctl-ledger--relay = Contar a partir de los registros del relé (pares en los que participa su jurisdicción) en lugar de los suyos
help-tipctl-ledger--offline = No contactar al relé: contar lo que hay aquí ahora
help-tipctl-ledger--json = Un objeto JSON: {"{"}"view", "period", "since", "until", "rows": [...], "pairs": [...]{"}"}
help-tipctl-ledger--csv = CSV con una línea de encabezado
help-tipctl-ledger--html = Escribir el informe del grupo de implementación (un único archivo HTML autocontenido) en ARCHIVO
help-tipctl-ledger--lang = Idioma del informe: en o es (por omisión, el de la interfaz: ui_lang o LANG)
help-tipctl-ledger--open_ack_hours = Pendientes: avisos sin confirmar durante más de estas horas
help-tipctl-ledger--open_feedback_days = Pendientes: avisos confirmados sin respuesta tras estos días
help-tipctl-ledger--merge = Contar también los registros de otro principal de su jurisdicción (un archivo de `tipctl ledger export` con la configuración de ese principal); repetible
help-tipctl-ledger-statement = Firmar la declaración de este lado para un periodo (cifras y un resumen criptográfico de los ids de aviso que cubre); escribirla en un archivo y/o enviarla a la contraparte a través del relé
help-tipctl-ledger-statement--of = El periodo (UTC): 2026-11, 2026-W48, 2026-11-30 o 2026 (por omisión, el último mes cerrado)
help-tipctl-ledger-statement--allow_open = Firmar un periodo que aún no ha terminado (sus cifras aún pueden crecer y la conciliación de la contraparte diferiría)
help-tipctl-ledger-statement--yes = Firmar aunque la declaración no cubra ningún aviso (afirma que no hubo intercambio)
help-tipctl-ledger-statement--to = La contraparte (por omisión, la única configurada)
help-tipctl-ledger-statement--out = Escribir la declaración firmada (bytes COSE_Sign1) en ARCHIVO
help-tipctl-ledger-statement--send = Enviarla a la contraparte a través del relé
help-tipctl-ledger-statement--json = Resumen JSON
help-tipctl-ledger-statement--merge = Cubrir también los registros de otros principales de su jurisdicción (archivos de `tipctl ledger export`)
help-tipctl-ledger-export = Escribir los registros de este principal (hechos por aviso, sin su contenido) en un archivo, para que el libro, la declaración o la conciliación de un colega cubran toda la jurisdicción con `--merge ARCHIVO`
help-tipctl-ledger-export--out = Archivo de salida
help-tipctl-ledger-reconcile = Comparar los registros de este lado con los del relé, aviso por aviso, y los del relé con la declaración firmada de la contraparte (periodo por omisión: el mes en curso). Sale con 0 si todo coincide, 6 si algo difiere y 5 si la declaración misma no se verifica
help-tipctl-ledger-reconcile--of = Un periodo con nombre (UTC): 2026, 2026-11, 2026-W48 o 2026-11-30
help-tipctl-ledger-reconcile--since = Avisos aceptados en esta fecha u hora RFC 3339 o después
help-tipctl-ledger-reconcile--until = Avisos aceptados antes de esta fecha u hora RFC 3339
help-tipctl-ledger-reconcile--statement = El archivo de declaración de la contraparte (por omisión, la última recibida a través del relé para exactamente este periodo, si la hay)
help-tipctl-ledger-reconcile--grace = Los avisos aceptados hace menos de esto están en tránsito, no son discrepancias (s, m, h, d)
help-tipctl-ledger-reconcile--json = Un objeto JSON: {"{"}"compared", "agree", "discrepancies": [{"{"}"tip", "kind", "message"{"}"}]{"}"}
help-tipctl-ledger-reconcile--merge = Comparar también los registros de otros principales de su jurisdicción (archivos de `tipctl ledger export`)
help-tipctl-ledger-statements = Declaraciones recibidas de la contraparte (traídas antes del relé)
help-tipctl-ledger-statements--json = Arreglo JSON
help-tipctl-audit = El registro de auditoría a prueba de manipulación del relé: atestiguar (cofirmar) puntos de control, verificar y revisar paquetes exportados sin conexión, probar la aceptación de un aviso
help-tipctl-audit-after = Ejemplos:
      tipctl audit witness                 verificar que el último punto de control del relé extiende el anterior, y cofirmarlo
      tipctl audit verify relay-2026-11.bundle
      tipctl audit log relay-2026-11.bundle --event rejected --since 2026-11-01
      tipctl audit prove 0193a5b4
help-tipctl-audit-witness = Verificar el punto de control más reciente del relé contra el verificado antes aquí (prueba de consistencia) y cofirmarlo como este principal. Sale con 5 ante una bifurcación o una vuelta atrás
help-tipctl-audit-witness--json = Objeto JSON
help-tipctl-audit-status = El punto de control verificado aquí, quién lo cofirmó y las alertas de auditoría registradas
help-tipctl-audit-status--json = Objeto JSON
help-tipctl-audit-verify = Verificar sin conexión un paquete de auditoría (de `tiprelay audit export`): cada entrada contra las raíces firmadas, cada punto de control y cofirma. Sale con 0 si es válido; si no, con 5, nombrando la primera entrada (o punto de control) errónea y por qué
help-tipctl-audit-verify-after = Las firmas se comprueban contra sus raíces configuradas (--config/TIPCTL_CONFIG) cuando las hay;
    si no, contra las raíces que trae el paquete, cuyas huellas se imprimen para compararlas.
help-tipctl-audit-verify--bundle = El archivo del paquete
help-tipctl-audit-verify--anchors_from_bundle = Sin configuración, confiar en las raíces que trae el paquete (y comparar después las huellas impresas con las que publica cada autoridad)
help-tipctl-audit-verify--json = Objeto JSON: {"{"}"valid", "log", "first", "count", "checkpoints", "head", "error"{"}"}
help-tipctl-audit-log = Revisar las entradas de un paquete como tabla (verificado antes)
help-tipctl-audit-log--bundle = El archivo del paquete
help-tipctl-audit-log--since = Entradas en esta fecha u hora RFC 3339 o después
help-tipctl-audit-log--until = Entradas antes de esta fecha u hora RFC 3339
help-tipctl-audit-log--from = Solo avisos de esta jurisdicción
help-tipctl-audit-log--to = Solo avisos para esta jurisdicción
help-tipctl-audit-log--category = Solo esta categoría de aviso
help-tipctl-audit-log--event = Solo este tipo de evento (accepted, rejected, delivered, acked, feedback, statement, auth_failed, relay_started, relay_stopped, trust_reloaded, purged; registros locales: written, receipted, received, acked, ack_received, feedback_given, feedback_received)
help-tipctl-audit-log--principal = Solo eventos de este principal (URI)
help-tipctl-audit-log--json = Arreglo JSON
help-tipctl-audit-log--csv = CSV con una línea de encabezado
help-tipctl-audit-export = Exportar el registro de auditoría local de este principal (lo que escribió, envió, recibió y confirmó, las respuestas y los puntos de control del relé que verificó) como paquete firmado con su clave de firma; `tipctl audit verify` lo comprueba como el del relé
help-tipctl-audit-export--out = Archivo de salida (no debe existir)
help-tipctl-audit-prove = Traer y verificar la prueba de inclusión de la aceptación de un aviso en el registro del relé, contra un punto de control consistente con todos los verificados aquí
help-tipctl-audit-prove--id = Id del aviso (enviado o recibido aquí)
help-tipctl-audit-prove--json = Objeto JSON
help-tipctl-feed = Alimentación automática: eventos de un sistema fronterizo como líneas JSON (docs/FEED.md) o un paquete STIX 2.1, cada uno validado, firmado con la clave de este principal (feed), guardado en la bandeja de salida y enviado en cadena; las líneas erróneas van a un archivo de rechazos y el resto sigue. Continúa donde iba tras una caída o un corte; un `source_ref` hace inocuo releer un archivo
help-tipctl-feed-after = Ejemplos:
      tipctl --config dev-pki/MX/feed.toml feed --input placas-2026-11-30.jsonl
      sensor-bridge | tipctl --config feed.toml feed --input - --follow
      tipctl --config feed.toml feed --format stix2.1 --input paquete.json --to US --tlp amber

    Salida: 0 cuando toda línea válida tiene su recibo (las rechazadas están en el resumen y en el archivo de rechazos);
    4 si el relé rechazó un aviso; 1 con --strict si se rechazó alguna línea; 130 con Ctrl-C (no se pierde nada).
help-tipctl-feed--input = El archivo de eventos, o `-` para la entrada estándar
help-tipctl-feed--follow = Seguir leyendo a medida que crece el archivo (o la entrada estándar), como `tail -f`, hasta Ctrl-C
help-tipctl-feed--rejects = Adónde van las líneas rechazadas (número de línea, motivo, la línea). Por omisión: ENTRADA.rejects (feed.rejects en el directorio actual para la entrada estándar)
help-tipctl-feed--strict = Terminar con un código distinto de cero si se rechazó alguna línea
help-tipctl-feed--batch = Líneas firmadas y guardadas por transacción (1..=4096)
help-tipctl-feed--format = Formato de entrada: líneas JSON (docs/FEED.md) o un paquete STIX 2.1 (docs/STIX.md), cuyos indicadores, avistamientos, datos observados e informes se vuelven avisos, cada id STIX su source_ref; los objetos rechazados se nombran por su posición en `objects`
help-tipctl-feed--to = STIX: la jurisdicción destinataria de los objetos que no la nombran
help-tipctl-feed--category = STIX: la categoría de los objetos que no la traen (por omisión: other)
help-tipctl-feed--tlp = STIX: la etiqueta TLP de los objetos sin marca TLP (si no, se rechazan)
help-tipctl-feed--urgency = STIX: la urgencia de los objetos que no la traen (por omisión: routine)
help-tipctl-export = Los avisos guardados aquí como paquete STIX 2.1 para una plataforma de inteligencia (MISP, OpenCTI): cada aviso un informe con su ubicación, marca TLP 2.0, jurisdicción autora, comprobación de firma y respuestas (docs/STIX.md). Los ids son estables: una nueva exportación actualiza
help-tipctl-export-after = Ejemplos:
      tipctl export --format stix2.1 --out avisos.json
      tipctl export --direction in --since -7d --out ultima-semana.json
      tipctl export --since 2026-11-01 --until 2026-12-01 --out noviembre.json --json
help-tipctl-export--format = El formato
help-tipctl-export--since = Avisos escritos en esta hora o después: RFC 3339, una fecha (2026-11-01) o -DURACIÓN (-7d)
help-tipctl-export--until = Avisos escritos antes de esta hora (mismas formas que --since)
help-tipctl-export--direction = Avisos recibidos, enviados, o ambos
help-tipctl-export--out = Escribir el paquete en ARCHIVO (de forma atómica) en lugar de la salida estándar
help-tipctl-export--json = Con --out: imprimir un resumen JSON {"{"}"tips", "objects", "out", "bundle"{"}"} en lugar de una frase
help-tipctl-resend = Enviar todo aviso de la bandeja de salida que aún no tenga recibo
help-tipctl-resend--json = Un objeto JSON: {"{"}"sent": [{"{"}"id", "seq"{"}"}], "refused": [{"{"}"id", "reason"{"}"}]{"}"}
help-tipctl-completions = Guion de autocompletado para bash, zsh, fish, elvish o powershell, en la salida estándar
help-tipctl-completions-after = Ejemplos:
      tipctl completions bash > /etc/bash_completion.d/tipctl
      tipctl completions fish > ~/.config/fish/completions/tipctl.fish
help-tipctl-completions--shell = El intérprete de órdenes
help-tipctl-man = Escribir las páginas de manual (tipctl.1, tipctl-send.1, …) en un directorio, en el idioma actual
help-tipctl-man--out = El directorio (se crea si no existe)
help-tipctl-status = Identidad del relé, estado de la conexión y avisos pendientes; termina con 3 si no se puede alcanzar el relé
help-tipctl-status--json = Objeto JSON
help-tipctl-ledger-export--json = Un objeto JSON: {"{"}"out", "principal", "records"{"}"}
help-tipctl-audit-export--json = Un objeto JSON: {"{"}"out", "log", "entries", "root"{"}"}

## Ayuda de tiprelay (--help)
help-tiprelay = El relé de tiprelay: guarda y reenvía avisos de inteligencia firmados entre dos jurisdicciones sobre QUIC con TLS mutuo, con recibos firmados
help-tiprelay--log_format = Formato del registro
help-tiprelay-serve = Ejecutar el relé hasta SIGINT o SIGTERM (entonces termina las escrituras en curso y sale con 0)
help-tiprelay-serve--config = Configuración del relé (TOML)
help-tiprelay-migrate = Crear o migrar el esquema del almacén configurado y salir (PostgreSQL: ejecútelo antes de arrancar un relé actualizado; el relé también migra al arrancar)
help-tiprelay-migrate--config = Configuración del relé (TOML)
help-tiprelay-migrate--json = Un objeto JSON: almacén, versión antes y después
help-tiprelay-check-config = Comprobar un archivo de configuración e imprimir lo que dice, sin servir
help-tiprelay-check-config--config = Configuración del relé (TOML)
help-tiprelay-check-config--json = Un objeto JSON: {"{"}"ok", "listen", "jurisdictions", "pairs", "store", "federation", "notes"{"}"}
help-tiprelay-ledger = El libro de reciprocidad del relé, a partir de sus propias escrituras: avisos aceptados, entregados, confirmados y con respuesta por dirección, categoría y periodo, con latencias
help-tiprelay-ledger--config = Configuración del relé (TOML)
help-tiprelay-ledger--period = Granularidad de las filas
help-tiprelay-ledger--of = Solo un periodo con nombre: 2026, 2026-11, 2026-W48 o 2026-11-30 (UTC)
help-tiprelay-ledger--since = Avisos aceptados en esta fecha u hora RFC 3339 o después
help-tiprelay-ledger--until = Avisos aceptados antes de esta fecha u hora RFC 3339
help-tiprelay-ledger--json = Un objeto JSON (`rows`, `pairs`)
help-tiprelay-ledger--csv = CSV con una línea de encabezado
help-tiprelay-peers = Federación: el enlace con el relé de la jurisdicción par: si está activo (preguntado al punto de métricas del relé en marcha, cuando `[metrics] listen` está definido), los avisos en cola y la edad del más antiguo, las confirmaciones, respuestas y declaraciones en espera, y lo que cruzó en cada sentido. Lee el almacén en solo lectura, así que funciona con el relé en marcha
help-tiprelay-peers--config = Configuración (TOML) de un relé federado
help-tiprelay-peers--json = Un objeto JSON
help-tiprelay-audit = El registro de auditoría a prueba de manipulación del relé
help-tiprelay-audit-export = Escribir un paquete de auditoría autocontenido para revisión sin conexión (`tipctl audit verify`): entradas, puntos de control firmados con sus cofirmas, el árbol compacto de las entradas anteriores, y las raíces y CRL necesarias para verificar. Lee el almacén en solo lectura (funciona con el relé en marcha)
help-tiprelay-audit-export--config = Configuración del relé (TOML)
help-tiprelay-audit-export--out = Archivo de salida (no debe existir)
help-tiprelay-audit-export--since = Entradas en esta fecha u hora RFC 3339 o después
help-tiprelay-audit-export--until = Entradas antes de esta fecha u hora RFC 3339 (se extiende hasta el siguiente punto de control firmado)

## Ayuda de tipcerts (--help)
help-tipcerts = Herramientas de PKI de tiprelay: CA de cada jurisdicción, certificados de principales y de relés, CRL
help-tipcerts--json = Imprimir un objeto JSON (lo creado, emitido, revocado o escrito, con rutas) en lugar de frases
help-tipcerts-init-ca = Crear una CA raíz: la de una jurisdicción (--jurisdiction MX) o la del operador del relé (--relay-operator)
help-tipcerts-init-ca--jurisdiction = Código de la jurisdicción (2-3 letras mayúsculas) cuyos principales certificará esta CA
help-tipcerts-init-ca--relay_operator = Crear en su lugar la CA del operador del relé (solo certifica relés)
help-tipcerts-init-ca--successor_of = Relevo de CA: crear la sucesora de la CA de este directorio (la misma autoridad, la siguiente generación de raíz, un nombre propio), para confiar en ambas a la vez
help-tipcerts-init-ca--key_uri = La clave raíz es un par de claves Ed25519 que ya está en un token PKCS#11 (un HSM), designado por su URI RFC 7512: la raíz y todo lo que emite los firma el token, y no se escribe ca.key
help-tipcerts-init-ca--pkcs11_module = Con --key-uri: la biblioteca PKCS#11 del token (SoftHSM2: /usr/lib/softhsm/libsofthsm2.so)
help-tipcerts-init-ca--pkcs11_pin_file = Con --key-uri: el archivo con el PIN de usuario del token (solo del propietario, modo 0600)
help-tipcerts-init-ca--out = Directorio nuevo para la CA (no debe existir)
help-tipcerts-init-ca--days = Validez de la raíz en días
help-tipcerts-issue = Emitir el certificado de cliente TLS y el certificado de firma de un principal (dos claves distintas)
help-tipcerts-issue--ca = El directorio de la CA (de init-ca)
help-tipcerts-issue--principal = Identidad: tiprelay://JURISDICCIÓN/TIPO/NOMBRE (TIPO analyst o feed); solo de la jurisdicción de la CA
help-tipcerts-issue--out = Directorio nuevo para tls.crt, tls.key, sign.crt, sign.key, ca.crt
help-tipcerts-issue--days = Validez en días (limitada a la caducidad de la propia CA)
help-tipcerts-issue-relay = Emitir el certificado de servidor TLS del relé y su certificado de firma de recibos
help-tipcerts-issue-relay--ca = El directorio de la CA: la del operador del relé (modo central) o la de una jurisdicción para el relé propio de esa jurisdicción (federación)
help-tipcerts-issue-relay--name = Nombre del relé: su identidad será tiprelay://OPERATOR/relay/NOMBRE, o tiprelay://J/relay/NOMBRE con la CA de la jurisdicción J
help-tipcerts-issue-relay--dns = Nombre DNS al que se conectan los clientes (repetible)
help-tipcerts-issue-relay--ip = Dirección IP a la que se conectan los clientes (repetible)
help-tipcerts-issue-relay--out = Directorio nuevo para tls.crt, tls.key, sign.crt, sign.key, ca.crt
help-tipcerts-issue-relay--days = Validez en días
help-tipcerts-issue-relay--signing_public_key = La clave de firma del relé está en un token PKCS#11: certificar esta clave pública (PEM «PUBLIC KEY», de `tipcerts keys token-public`) en sign.crt, sin escribir sign.key
help-tipcerts-revoke = Revocar un certificado emitido por esta CA y reescribir el crl.pem de la CA
help-tipcerts-revoke--ca = El directorio de la CA
help-tipcerts-revoke--cert = El certificado a revocar (PEM o DER)
help-tipcerts-crl = Escribir una CRL nueva (nuevo número, nuevo nextUpdate). Publíquela antes de que caduque la anterior
help-tipcerts-crl--ca = El directorio de la CA
help-tipcerts-crl--out = Dónde escribir la CRL (PEM); por omisión, el crl.pem de la CA
help-tipcerts-crl--days = Días hasta nextUpdate
help-tipcerts-dev = Crear un entorno de desarrollo completo: CA del operador, relé, CA de las jurisdicciones, principales, configuraciones; con --federated, un relé por jurisdicción, enlazados a través de la frontera
help-tipcerts-dev--out = Directorio de salida (se rechaza si existe, salvo con --force)
help-tipcerts-dev--jurisdictions = Jurisdicciones, separadas por comas (cada par puede intercambiar avisos). Con --federated: exactamente dos
help-tipcerts-dev--relay_addr = Dirección en la que escuchará el relé y a la que se conectarán los clientes (por omisión 127.0.0.1:4433). Con --federated: J=HOST:PUERTO, una vez por jurisdicción (por omisión 127.0.0.1:4433 para la primera y 127.0.0.1:4434 para la segunda)
help-tipcerts-dev--federated = Un relé por jurisdicción, certificado cada uno por la CA de su jurisdicción y enlazado con el otro (docs/OPERATIONS.md, «Federation»)
help-tipcerts-dev--force = Reemplazar un directorio de salida existente
help-tipcerts-keys = Archivos de claves privadas
help-tipcerts-keys-convert = Reescribir las claves privadas Ed25519 escritas por versiones anteriores (PKCS#8 v2, que OpenSSL 3.0 y `cryptography` de Python rechazan) como PKCS#8 v1, en su sitio, de forma atómica, con modo 0600. Las claves mismas no cambian; los archivos ya en v1 se dejan como están
help-tipcerts-keys-convert--files = Archivos de claves (PEM)
help-tipcerts-show = Imprimir un resumen legible de los certificados y CRL de un archivo
help-tipcerts-show--file = Archivo PEM o DER

## Errores de conexión y verificación (tipctl)
conn-connect = no se puede alcanzar el relé en { $addr }: { $why }
conn-certificate = falló la autenticación TLS con el relé en { $addr }: { $why }
conn-transport = falló la conexión con el relé: { $why }
conn-refused = el relé rechazó la petición: { $why }
conn-batch-refused = el relé rechazó un lote completo: { $why }
conn-protocol = respuesta mal formada del relé: { $why }
conn-no-answer = sin respuesta en { $ms } ms
cert-relay-failed = el certificado del RELÉ no superó la comprobación de este cliente ({ $reason }): no lo emitió la raíz de relé en la que confía este cliente (¿otra PKI?), caducó, está revocado o es para otro nombre que relay.server_name
cert-client-revoked = el relé rechazó el certificado de ESTE CLIENTE: está REVOCADO (alerta TLS certificate_revoked); pida uno nuevo a la CA de su jurisdicción
cert-client-expired = el relé rechazó el certificado de ESTE CLIENTE: ha CADUCADO (alerta TLS certificate_expired); renuévelo
cert-client-refused = el relé rechazó el certificado de ESTE CLIENTE (alerta TLS { $alert }): no lo emitió una CA de jurisdicción en la que confíe el relé, no es un principal que admita o no es válido ahora
cert-closed = el relé cerró la conexión: { $reason } (el certificado de este cliente fue revocado o caducó entretanto)
client-unknown-recipient = { $to } no es una jurisdicción con la que este cliente intercambie avisos (configuradas: { $known })
client-untrusted = { $what } del relé no se verifica: { $why }
client-audit-alert = ALERTA DE AUDITORÍA: { $why }
client-own-cert-revoked = el relé rechazó lo que usted firmó ({ $what }): SU certificado de firma { $cert } ({ $identity }) está REVOCADO por su CA; lo que firma se rechaza desde la revocación (lo que el relé aceptó antes sigue siendo válido). Pida a la CA de su jurisdicción un certificado nuevo (tipcerts issue) e instálelo
tipctl-refusal-refused = el relé no aceptó el rechazo del aviso { $id } por este cliente ({ $reason }); el aviso sigue en espera
client-what-tip = aviso { $id }
client-what-feedback = retroalimentación { $id }
client-what-cosignature = cofirma del registro del relé

## Caducidad de certificados (tipctl status, tiprelay, check-config)
expiry-soon = el certificado { $name } ({ $path }, { $identity }) caduca el { $date }, dentro de { $days ->
        [one] 1 día
       *[other] { $days } días
    }: { $advice }
expiry-expired = el certificado { $name } ({ $path }, { $identity }) CADUCÓ el { $date }: { $advice }
expiry-valid = certificado { $name } ({ $path }, { $identity }) válido hasta el { $date } (quedan { $days ->
        [one] 1 día
       *[other] { $days } días
    })
expiry-advice-leaf = renuévelo (`tipcerts renew --ca DIR_CA --cert { $path } --out DIR_NUEVO`, o pídaselo a su CA) e instale los archivos nuevos en lugar de los anteriores
expiry-advice-root = pida a esa autoridad su nuevo certificado raíz e instálelo junto a este ({ $name }) antes de esa fecha
expiry-unreadable = no se puede comprobar la caducidad del certificado { $name }: { $error }
expiry-status-label = certificados
expiry-status-ok = ninguno caduca en los próximos { $days } días
status-own-revoked = SU certificado de firma { $file } está REVOCADO (figura en su CRL): el relé rechaza lo que usted firma; pida un certificado nuevo a la CA de su jurisdicción
expiry-flagged = AVISO: { $text }

## tiprelay backup, tipctl backup
help-tiprelay-backup = Hacer una copia de seguridad del almacén mientras el relé sirve: una instantánea coherente del almacén redb, copiada a un archivo nuevo (solo para su propietario, sincronizado en disco) y comprobada antes de conservarla: las filas de cada tabla, las entradas del registro de auditoría contra la raíz y la firma del punto de control firmado más reciente. Los almacenes PostgreSQL se rechazan: use pg_dump. Restaurar: docs/OPERATIONS.md
help-tiprelay-backup--config = Configuración del relé (TOML)
help-tiprelay-backup--out = El archivo de la copia de seguridad (un almacén redb; se rechaza si existe, salvo con --force)
help-tiprelay-backup--force = Reemplazar un archivo --out existente (nunca el propio almacén)
help-tiprelay-backup--json = Un objeto JSON: {"{"}"out", "bytes", "sha256", "millis", "schema_version", "tips", "audit_entries", "checkpoint", "tables"{"}"}
help-tipctl-backup = Hacer una copia de seguridad del almacén local de este principal, también mientras otro tipctl (p. ej. `tipctl watch`) lo tiene abierto: una instantánea coherente copiada a un archivo nuevo (solo para su propietario, sincronizado en disco) y comprobada antes de conservarla
help-tipctl-backup--out = El archivo de la copia de seguridad (se rechaza si existe, salvo con --force)
help-tipctl-backup--force = Reemplazar un archivo --out existente (nunca el propio almacén)
help-tipctl-backup--json = Un objeto JSON: {"{"}"out", "bytes", "sha256", "millis", "schema_version", "outbox", "inbox", "audit_entries", "tables"{"}"}
help-tipcerts-renew = Renovar los certificados de un principal o de un relé antes de que caduquen: claves nuevas, la misma identidad (y, para un relé, los mismos nombres DNS e IP), válidos desde ahora. Los certificados anteriores no se revocan: los recibos y los avisos firmados con las claves anteriores se siguen verificando hasta que caduquen
help-tipcerts-renew--ca = El directorio de la CA que emitió el certificado
help-tipcerts-renew--cert = Un certificado vigente (tls.crt o sign.crt; el otro se busca a su lado). El de un relé necesita su tls.crt al lado, por los nombres DNS e IP
help-tipcerts-renew--out = Directorio nuevo para tls.crt, tls.key, sign.crt, sign.key, ca.crt
help-tipcerts-renew--days = Validez en días desde ahora (limitada a la caducidad de la propia CA)
help-tipcerts-renew-after = Ejemplos:
      tipcerts renew --ca /secure/mx-ca --cert /etc/tipctl/ana/sign.crt --out ./ana-2027
          un principal: renueva su tls.crt y su sign.crt (el par junto al archivo indicado)
      tipcerts renew --ca /secure/operator-ca --cert /etc/tiprelay/tls.crt --out ./relay-2027
          el relé: el mismo nombre y los mismos nombres DNS e IP; después reinícielo con los archivos nuevos
    Vea docs/OPERATIONS.md, «Renewing certificates».
help-tipcerts-keys-encrypt = Cifra claves privadas con una frase de paso, en su lugar, de forma atómica, modo 0600: PKCS#8 PBES2 (scrypt, AES-256-CBC), que leen tiprelay, tipctl, tipcerts y OpenSSL 3. El relé y tipctl toman entonces la frase de paso del archivo que nombra TIPRELAY_KEY_PASSPHRASE_FILE, de la credencial de systemd key-passphrase o (tipctl, tipcerts) la piden en la terminal.
help-tipcerts-keys-encrypt--files = Archivos de clave (PEM); los ya cifrados se dejan como están.
help-tipcerts-keys-encrypt--passphrase_file = Archivo con la frase de paso (una línea, al menos 12 caracteres); sin él, la frase de paso se pide dos veces en la terminal.
help-tipcerts-keys-encrypt-after = Ejemplo: tipcerts keys encrypt --passphrase-file /run/credentials/pass /secure/mx-ca/ca.key
    Después, `openssl pkey -in ARCHIVO -passin file:ARCHIVO_FRASE -noout` la lee.
help-tipcerts-keys-token-public = Muestra (o escribe) la clave pública de un par de claves Ed25519 de un token PKCS#11, como PEM «PUBLIC KEY»: lo que certifica `issue-relay --signing-public-key` para un relé cuya clave de firma queda en el token
help-tipcerts-keys-token-public--key_uri = El URI PKCS#11 de la clave (RFC 7512)
help-tipcerts-keys-token-public--pkcs11_module = La biblioteca PKCS#11 del token
help-tipcerts-keys-token-public--pkcs11_pin_file = El archivo con el PIN de usuario del token (solo del propietario)
help-tipcerts-keys-token-public--out = Escribir el PEM en este archivo en lugar de mostrarlo
help-tipcerts-keys-token-public-after = Ejemplo: tipcerts keys token-public --key-uri 'pkcs11:token=relay;object=receipt-signing' \
      --pkcs11-module /usr/lib/softhsm/libsofthsm2.so --pkcs11-pin-file /etc/tiprelay/hsm-pin --out relay-sign.pub
help-tipcerts-issue--config_out = Escribir también la configuración de tipctl del principal en ARCHIVO (rutas relativas a él; requiere --relay y --server-name, y --trust para cada otra jurisdicción)
help-tipcerts-issue--relay = Con --config-out: la dirección UDP del relé, HOST:PUERTO
help-tipcerts-issue--server_name = Con --config-out: el nombre DNS del certificado TLS del relé
help-tipcerts-issue--operator = Con --config-out: la raíz y la CRL del operador del relé, CA.crt,CRL.pem (un relé compartido por las jurisdicciones; omítalo para el relé propio de una jurisdicción)
help-tipcerts-issue--trust = Con --config-out: la raíz y la CRL de otra jurisdicción, J=CA.crt,CRL.pem (repetible)
help-tipcerts-issue--lang = Con --config-out: idioma de los avisos que escribe este principal (por omisión, el de su jurisdicción)
