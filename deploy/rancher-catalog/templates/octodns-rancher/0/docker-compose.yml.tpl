version: '2'
services:
  octodns-rancher:
    image: ${IMAGE}
    command: watch
    environment:
      ROOT_DOMAIN: ${ROOT_DOMAIN}
      TTL: ${TTL}
      NAME_TEMPLATE: ${NAME_TEMPLATE}
      WATCH_MODE: ${WATCH_MODE}
      GIT_REPOSITORY: ${GIT_REPOSITORY}
      ZONES_GIT_BRANCH: ${GIT_BRANCH}
      ZONES_PUSH: 'true'
      QUIET_PERIOD: ${QUIET_PERIOD}
      RESYNC_INTERVAL: ${RESYNC_INTERVAL}
      LOG_FORMAT: ${LOG_FORMAT}
      LISTEN_ADDRESS: 0.0.0.0:7979
{{- if .Values.AWS_ACCESS_KEY_ID }}
      AWS_ACCESS_KEY_ID: ${AWS_ACCESS_KEY_ID}
      AWS_SECRET_ACCESS_KEY: ${AWS_SECRET_ACCESS_KEY}
{{- end }}
{{- if .Values.DEPLOY_KEY_SECRET }}
      GIT_SSH_COMMAND: ssh -i /run/secrets/deploy-key -o IdentitiesOnly=yes -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=/data/known_hosts
{{- end }}
    expose:
      - 7979
    labels:
      # Service account keys (CATTLE_URL, CATTLE_ACCESS_KEY, CATTLE_SECRET_KEY) in the
      # environment, with the role Rancher's own external DNS entries used.
      io.rancher.container.create_agent: 'true'
      io.rancher.container.agent.role: external-dns
{{- if .Values.DEPLOY_KEY_SECRET }}
    secrets:
      - source: '{{ .Values.DEPLOY_KEY_SECRET }}'
        target: deploy-key
        uid: '10001'
        gid: '10001'
        mode: '0400'
secrets:
  '{{ .Values.DEPLOY_KEY_SECRET }}':
    external: 'true'
{{- end }}
