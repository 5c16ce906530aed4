/**
 * The admin page's script: plain browser JavaScript, no framework. Data from the API is put in
 * the page with textContent only (never as HTML). Kept free of backticks and template
 * placeholders so it can live in this template literal.
 */
export const ADMIN_PAGE_SCRIPT = `'use strict';
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var editingNode = null;
  var editingPeer = null;

  function api(method, path, body) {
    var init = { method: method, credentials: 'same-origin', headers: {} };
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch('/admin/api/' + path, init).then(function (response) {
      if (response.status === 401 && path !== 'login') showLogin();
      if (response.status === 204) return { ok: true, status: 204, data: null };
      return response.json().then(function (data) {
        return { ok: response.ok, status: response.status, data: data };
      });
    });
  }

  function cell(row, text) {
    var td = document.createElement('td');
    td.textContent = text === undefined || text === null ? '' : String(text);
    row.appendChild(td);
    return td;
  }

  function button(label, ariaLabel, onClick) {
    var b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.setAttribute('aria-label', ariaLabel);
    b.addEventListener('click', onClick);
    return b;
  }

  function say(text) { $('status').textContent = text; }

  function showLogin() {
    $('app').hidden = true;
    $('logout').hidden = true;
    $('whoami').textContent = '';
    $('login-section').hidden = false;
  }

  function showApp(user) {
    $('login-section').hidden = true;
    $('app').hidden = false;
    $('logout').hidden = false;
    $('whoami').textContent = 'Logged in as ' + user;
    refresh();
  }

  function showFieldError(formPrefix, errorId, result) {
    var form = $(formPrefix + '-form');
    Array.prototype.forEach.call(form.querySelectorAll('input, select'), function (input) {
      input.removeAttribute('aria-invalid');
      input.removeAttribute('aria-describedby');
    });
    if (result.ok) { $(errorId).textContent = ''; return; }
    var data = result.data || {};
    $(errorId).textContent = data.message || ('Error ' + result.status);
    var field = data.field ? $(formPrefix + '-' + String(data.field).replace(/\\[.*$/, '')) : null;
    if (field) {
      field.setAttribute('aria-invalid', 'true');
      field.setAttribute('aria-describedby', errorId);
      field.focus();
    }
  }

  function renderVerify(report) {
    var box = $('verify-result');
    box.textContent = '';
    var title = document.createElement('p');
    title.className = report.ok ? 'ok' : 'failed';
    title.textContent = report.ok
      ? 'Node ' + report.node + ' verified'
      : 'Node ' + report.node + ': ' + report.failedLeg + ' failed';
    box.appendChild(title);
    var list = document.createElement('ul');
    report.legs.forEach(function (leg) {
      var item = document.createElement('li');
      item.textContent = leg.leg + ': ' + leg.outcome + ' (' + leg.detail + ')' +
        (leg.cause ? '. Likely cause: ' + leg.cause + ': ' + leg.hint : '');
      list.appendChild(item);
    });
    box.appendChild(list);
  }

  function verify(name) {
    $('verify-result').textContent = 'Verifying ' + name + '...';
    api('POST', 'nodes/' + encodeURIComponent(name) + '/verify').then(function (result) {
      if (result.ok) renderVerify(result.data);
      else $('verify-result').textContent = (result.data && result.data.message) || 'failed';
    });
  }

  function editNode(node) {
    editingNode = node.name;
    ['name', 'aeTitle', 'host', 'port', 'retrieveMethod', 'moveDestination', 'callingAeTitle']
      .forEach(function (key) { $('node-' + key).value = node[key] === undefined ? '' : node[key]; });
    $('node-name').readOnly = true;
    $('node-submit').textContent = 'Save node';
    $('node-cancel').hidden = false;
    $('node-form-title').textContent = 'Edit node ' + node.name;
    $('node-aeTitle').focus();
  }

  function resetNodeForm() {
    editingNode = null;
    $('node-form').reset();
    $('node-name').readOnly = false;
    $('node-submit').textContent = 'Add node';
    $('node-cancel').hidden = true;
    $('node-form-title').textContent = 'Add a node';
  }

  function resetPeerForm() {
    editingPeer = null;
    $('peer-form').reset();
    $('peer-submit').textContent = 'Add peer';
    $('peer-cancel').hidden = true;
    $('peer-form-title').textContent = 'Add a peer';
  }

  function renderNodes(nodes) {
    var body = $('nodes');
    body.textContent = '';
    nodes.forEach(function (node) {
      var row = document.createElement('tr');
      [node.name, node.aeTitle, node.host, node.port, node.retrieveMethod, node.moveDestination]
        .forEach(function (v) { cell(row, v); });
      var actions = cell(row, '');
      actions.appendChild(button('Verify', 'Verify node ' + node.name, function () { verify(node.name); }));
      actions.appendChild(button('Edit', 'Edit node ' + node.name, function () { editNode(node); }));
      actions.appendChild(button('Delete', 'Delete node ' + node.name, function () {
        if (!window.confirm('Delete PACS node ' + node.name + '?')) return;
        api('DELETE', 'nodes/' + encodeURIComponent(node.name)).then(function () {
          say('Node ' + node.name + ' deleted'); refresh();
        });
      }));
      body.appendChild(row);
    });
  }

  function renderPeers(peers) {
    var body = $('peers');
    body.textContent = '';
    peers.forEach(function (peer) {
      var row = document.createElement('tr');
      cell(row, peer.aeTitle);
      cell(row, peer.host || 'any');
      var actions = cell(row, '');
      actions.appendChild(button('Edit', 'Edit peer ' + peer.aeTitle, function () {
        editingPeer = peer.id;
        $('peer-aeTitle').value = peer.aeTitle;
        $('peer-host').value = peer.host || '';
        $('peer-submit').textContent = 'Save peer';
        $('peer-cancel').hidden = false;
        $('peer-form-title').textContent = 'Edit peer ' + peer.aeTitle;
        $('peer-aeTitle').focus();
      }));
      actions.appendChild(button('Delete', 'Delete peer ' + peer.aeTitle, function () {
        if (!window.confirm('Remove allowed peer ' + peer.aeTitle + '?')) return;
        api('DELETE', 'peers/' + peer.id).then(function () {
          say('Peer ' + peer.aeTitle + ' removed'); refresh();
        });
      }));
      body.appendChild(row);
    });
  }

  function renderRows(id, rows, columns) {
    var body = $(id);
    body.textContent = '';
    rows.forEach(function (item) {
      var row = document.createElement('tr');
      columns.forEach(function (key) { cell(row, item[key]); });
      body.appendChild(row);
    });
    return body;
  }

  function refresh() {
    api('GET', 'local-aes').then(function (r) {
      if (r.ok) $('local-aes').textContent = 'AE titles ' + r.data.aeTitles.join(', ') +
        ' on ' + r.data.host + ', DICOM port ' + r.data.port;
    });
    api('GET', 'nodes').then(function (r) { if (r.ok) renderNodes(r.data); });
    api('GET', 'peers').then(function (r) { if (r.ok) renderPeers(r.data); });
    api('GET', 'associations').then(function (r) {
      if (r.ok) renderRows('associations', r.data,
        ['at', 'callingAe', 'peerHost', 'instancesStored', 'instancesFailed', 'status']);
    });
    api('GET', 'outbox').then(function (r) {
      if (!r.ok) return;
      $('outbox-counts').textContent = 'Pending ' + r.data.counts.pending + ' (retrying ' +
        r.data.retrying + '), delivered ' + r.data.counts.delivered + ', dead ' + r.data.counts.dead;
      var body = renderRows('dead-letters', r.data.dead, ['id', 'kind', 'reportKey', 'attempts', 'lastError']);
      Array.prototype.forEach.call(body.rows, function (row, i) {
        var id = r.data.dead[i].id;
        cell(row, '').appendChild(button('Re-send', 'Re-send notification ' + id, function () {
          api('POST', 'outbox/' + id + '/resend').then(function (x) {
            say(x.ok ? 'Notification ' + id + ' is pending again' : x.data.message); refresh();
          });
        }));
      });
    });
    api('GET', 'queue').then(function (r) {
      if (r.ok) $('queue').textContent = 'Waiting ' + r.data.waiting + ', running ' + r.data.running;
    });
    api('GET', 'audit?limit=20').then(function (r) {
      if (!r.ok) return;
      renderRows('audit', r.data.map(function (e) {
        return { at: e.at, actor: e.actor, action: e.action, what: e.entity + ' ' + e.entityKey };
      }), ['at', 'actor', 'action', 'what']);
    });
  }

  $('login-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var token = $('login-token').value;
    var body = token ? { token: token }
      : { username: $('login-username').value, password: $('login-password').value };
    api('POST', 'login', body).then(function (result) {
      if (result.ok) { $('login-error').textContent = ''; $('login-form').reset(); showApp(result.data.user); }
      else $('login-error').textContent = 'Log-in refused: ' + ((result.data && result.data.message) || result.status);
    });
  });

  $('logout').addEventListener('click', function () {
    api('POST', 'logout').then(showLogin);
  });

  $('node-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var node = {};
    ['name', 'aeTitle', 'host', 'retrieveMethod', 'moveDestination', 'callingAeTitle'].forEach(function (key) {
      var value = $('node-' + key).value.trim();
      if (value !== '') node[key] = value;
    });
    var port = $('node-port').value;
    node.port = port === '' ? undefined : Number(port);
    var request = editingNode
      ? api('PUT', 'nodes/' + encodeURIComponent(editingNode), node)
      : api('POST', 'nodes', node);
    request.then(function (result) {
      showFieldError('node', 'node-error', result);
      if (result.ok) { say('Node ' + result.data.name + ' saved'); resetNodeForm(); refresh(); }
    });
  });
  $('node-cancel').addEventListener('click', resetNodeForm);

  $('peer-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var peer = { aeTitle: $('peer-aeTitle').value };
    if ($('peer-host').value.trim() !== '') peer.host = $('peer-host').value.trim();
    var request = editingPeer ? api('PUT', 'peers/' + editingPeer, peer) : api('POST', 'peers', peer);
    request.then(function (result) {
      showFieldError('peer', 'peer-error', result);
      if (result.ok) { say('Peer ' + result.data.aeTitle + ' saved'); resetPeerForm(); refresh(); }
    });
  });
  $('peer-cancel').addEventListener('click', resetPeerForm);

  $('refresh').addEventListener('click', refresh);
  $('resend-all').addEventListener('click', function () {
    api('POST', 'outbox/dead/resend').then(function (r) {
      say(r.ok ? 'Re-sent: ' + (r.data.resent.join(', ') || 'none') : 'Re-send failed'); refresh();
    });
  });

  api('GET', 'session').then(function (r) { if (r.ok) showApp(r.data.user); else showLogin(); });
  setInterval(function () { if (!$('app').hidden) refresh(); }, 15000);
})();
`;
